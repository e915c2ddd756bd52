"""What others see of a saga: the status roll-up, MigrationStatusChanged, and the HTTP view."""
from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from citybus.domain.migration.messages import PublishStatus, ScopeProgress
from citybus.domain.migration.state import SagaState, ScopeState
from citybus.domain.migration.vocabulary import MigrationStatus, ScopeStatus

__all__ = ["roll_up", "status_of", "saga_json", "rfc3339"]


def roll_up(scopes: Iterable[ScopeState]) -> MigrationStatus:
    """IN_PROGRESS while a scope is not final; then COMPLETED, PARTIAL or FAILED."""
    scopes = list(scopes)
    if not all(scope.final for scope in scopes):
        return MigrationStatus.IN_PROGRESS
    completed = sum(scope.status == ScopeStatus.COMPLETED for scope in scopes)
    if scopes and completed == len(scopes):
        return MigrationStatus.COMPLETED
    return MigrationStatus.PARTIAL if completed else MigrationStatus.FAILED


def status_of(state: SagaState) -> PublishStatus:
    return PublishStatus(
        state.migration_id, state.subject_type, state.subject_id, state.from_city, state.to_city,
        state.status, state.reason,
        tuple(ScopeProgress(s.scope, s.status, s.current_step) for s in state.scopes),
        state.updated_at,
    )


def rfc3339(ms: int) -> str:
    """UTC, `Z`-suffixed; milliseconds shown only when there are any."""
    moment = datetime.fromtimestamp(ms // 1000, tz=UTC)
    if ms % 1000:
        return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{ms % 1000:03d}Z"
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def saga_json(state: SagaState) -> dict[str, Any]:
    """The body of `GET /migrations/{migration_id}`."""
    return {
        "migration_id": state.migration_id,
        "subject_type": str(state.subject_type),
        "subject_id": state.subject_id,
        "from_city": state.from_city,
        "to_city": state.to_city,
        "status": str(state.status),
        "reason": state.reason,
        "scopes": {
            str(scope.scope): {
                "status": str(scope.status),
                "steps": [
                    {"step": str(s.step), "city": s.city, "status": str(s.status), "attempts": s.attempts}
                    for s in scope.steps
                ],
            }
            for scope in state.scopes
        },
        "requested_at": rfc3339(state.requested_at),
        "updated_at": rfc3339(state.updated_at),
    }
