"""A saga's state: every decision and pending deadline, JSON-safe for a changelogged table."""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from citybus.domain.frozen import evolve
from citybus.domain.migration.messages import DeadlineExpired
from citybus.domain.migration.vocabulary import (
    FINAL_SCOPE_STATUSES,
    MigrationStatus,
    Scope,
    ScopeStatus,
    Step,
    StepStatus,
    SubjectType,
)

__all__ = ["StepState", "ScopeState", "SagaState", "command_id_for"]


def command_id_for(migration_id: str, scope: str, step: str) -> str:
    """Deterministic, so a restarted orchestrator re-sends under the same id."""
    return f"{migration_id}/{scope}/{step}"


def _enum(kind: type, value: Any) -> Any:
    try:
        return kind(value)
    except ValueError:  # a refused request may carry words outside the vocabulary
        return value


@dataclass(frozen=True)
class StepState:
    """`deadline` is set exactly while the step awaits a reply (or, for a revert, a retry)."""

    step: Step
    city: str
    command_id: str
    status: StepStatus = StepStatus.PENDING
    attempts: int = 0
    deadline: int | None = None
    reason: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "step": str(self.step), "city": self.city, "command_id": self.command_id,
            "status": str(self.status), "attempts": self.attempts,
            "deadline": self.deadline, "reason": self.reason,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> StepState:
        return cls(
            Step(data["step"]), data["city"], data["command_id"], StepStatus(data["status"]),
            data["attempts"], data["deadline"], data["reason"],
        )


@dataclass(frozen=True)
class ScopeState:
    scope: Scope
    status: ScopeStatus
    steps: tuple[StepState, ...]
    package: Mapping[str, str] = field(default_factory=dict, hash=False)
    reason: str | None = None

    @property
    def final(self) -> bool:
        return self.status in FINAL_SCOPE_STATUSES

    @property
    def current_step(self) -> Step:
        """The step running now, or the last one that ran."""
        started = [s.step for s in self.steps if s.status != StepStatus.PENDING]
        return started[-1] if started else self.steps[0].step

    def step_by_command(self, command_id: str) -> StepState | None:
        return next((s for s in self.steps if s.command_id == command_id), None)

    def with_step(self, new: StepState) -> ScopeState:
        return evolve(self, steps=tuple(new if s.command_id == new.command_id else s for s in self.steps))

    def to_dict(self) -> dict[str, Any]:
        return {
            "scope": str(self.scope), "status": str(self.status),
            "steps": [s.to_dict() for s in self.steps], "package": dict(self.package), "reason": self.reason,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ScopeState:
        return cls(
            Scope(data["scope"]), ScopeStatus(data["status"]),
            tuple(StepState.from_dict(s) for s in data["steps"]), dict(data["package"]), data["reason"],
        )


@dataclass(frozen=True)
class SagaState:
    migration_id: str
    subject_type: str
    subject_id: str
    from_city: str
    to_city: str
    requested_at: int
    requested_by: str
    status: MigrationStatus
    reason: str | None
    scopes: tuple[ScopeState, ...]
    updated_at: int

    @property
    def final(self) -> bool:
        return self.status != MigrationStatus.IN_PROGRESS

    def scope(self, scope: str) -> ScopeState:
        return next(s for s in self.scopes if s.scope == scope)

    def with_scope(self, new: ScopeState) -> SagaState:
        return evolve(self, scopes=tuple(new if s.scope == new.scope else s for s in self.scopes))

    def pending_deadlines(self) -> list[tuple[int, str]]:
        """Every `(at_ms, command_id)` still awaited, earliest first."""
        return sorted(
            (step.deadline, step.command_id)
            for scope in self.scopes for step in scope.steps if step.deadline is not None
        )

    def next_deadline(self) -> tuple[int, str] | None:
        pending = self.pending_deadlines()
        return pending[0] if pending else None

    def expiries_due(self, now_ms: int) -> list[DeadlineExpired]:
        """The DeadlineExpired events the caller should feed back at `now_ms`."""
        return [DeadlineExpired(self.migration_id, cid, now_ms) for at, cid in self.pending_deadlines() if at <= now_ms]

    def to_dict(self) -> dict[str, Any]:
        return {
            "migration_id": self.migration_id, "subject_type": str(self.subject_type),
            "subject_id": self.subject_id, "from_city": self.from_city, "to_city": self.to_city,
            "requested_at": self.requested_at, "requested_by": self.requested_by,
            "status": str(self.status), "reason": self.reason,
            "scopes": [s.to_dict() for s in self.scopes], "updated_at": self.updated_at,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> SagaState:
        return cls(
            data["migration_id"], _enum(SubjectType, data["subject_type"]), data["subject_id"],
            data["from_city"], data["to_city"], data["requested_at"], data["requested_by"],
            MigrationStatus(data["status"]), data["reason"],
            tuple(ScopeState.from_dict(s) for s in data["scopes"]), data["updated_at"],
        )
