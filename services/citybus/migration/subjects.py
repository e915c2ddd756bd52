"""One subject's sagas as one table value: the unit the orchestrator reads, changes and writes.

The saga table is keyed by subject_id, the key of requests, moves, commands and replies, so
every event about a subject arrives on the partition that holds its value, conflict detection
included (`held`: scope -> migration in progress). Pure: no Faust, no Kafka, no clock.
"""
from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from citybus.domain.frozen import evolve
from citybus.domain.migration import (
    Command,
    MigrationRequested,
    ReplyReceived,
    SagaPolicy,
    SagaState,
    SubjectRegistry,
    accept_request,
    held_after,
    transition,
)

__all__ = ["SubjectSagas", "Outcome", "SUBJECT_BUDGET"]

# What one subject's value may take before its oldest finished migrations are forgotten: hundreds of
# migrations, and room below the changelog's 4 MiB records for those in progress (each reply's
# package and reason are bounded at the intake, migration.validation).
SUBJECT_BUDGET = 1_048_576


@dataclass(frozen=True)
class Outcome:
    """What one event did to a subject: its new value, commands to carry out, sagas that changed."""

    subject: SubjectSagas
    commands: list[Command] = field(default_factory=list)
    changed: list[SagaState] = field(default_factory=list)


@dataclass(frozen=True)
class SubjectSagas:
    subject_id: str
    partition: int = 0  # where the value lives, so the timer can tick the right partition
    held: dict[str, str] = field(default_factory=dict)
    sagas: dict[str, SagaState] = field(default_factory=dict)
    # sagas whose status a deadline changed, kept before that status is sent: announced again
    # after a restart (the send may have been lost), cleared once it is on the broker
    unannounced: tuple[str, ...] = ()
    forgotten: int = 0  # finished migrations forgotten past SUBJECT_BUDGET (their ids unknown again)

    def next_deadline(self) -> int | None:
        pending = [d[0] for s in self.sagas.values() if (d := s.next_deadline()) is not None]
        return min(pending) if pending else None

    def on_request(self, request: MigrationRequested, policy: SagaPolicy) -> Outcome:
        if not request.migration_id.strip():
            # no idempotency key: refused naming the rule every time, and nothing kept under it
            # (else the next blank request would be "already known" and dropped without a word)
            _, commands = transition(None, request, policy)
            return Outcome(self, commands)
        existing = self.sagas.get(request.migration_id)
        registry = SubjectRegistry({self.subject_id: self.held})
        state, commands, registry = accept_request(existing, request, registry, policy)
        if existing is not None:
            return Outcome(self)
        return self._with(state, dict(registry.holding(self.subject_id)), commands)

    def on_reply(self, reply: ReplyReceived, policy: SagaPolicy) -> Outcome:
        state = self.sagas.get(reply.migration_id)
        new, commands = transition(state, reply, policy)
        if new is None or new == state:
            return Outcome(self)
        return self._with(new, held_after(self.held, new), commands)

    def on_tick(self, now_ms: int, policy: SagaPolicy) -> Outcome:
        """Feed every deadline due at `now_ms`; stale ones are ignored by the saga."""
        outcome = Outcome(self)
        for migration_id in sorted(self.sagas):
            for expiry in self.sagas[migration_id].expiries_due(now_ms):
                subject = outcome.subject
                state = subject.sagas[migration_id]
                new, commands = transition(state, expiry, policy)
                if new is None or new == state:
                    continue
                step = subject._with(new, held_after(subject.held, new), commands)
                outcome = Outcome(step.subject, outcome.commands + step.commands,
                                  [s for s in outcome.changed if s.migration_id != migration_id] + step.changed)
        return outcome

    def _with(self, state: SagaState, held: dict[str, str], commands: Iterable[Command]) -> Outcome:
        sagas = {**self.sagas, state.migration_id: state}
        return Outcome(evolve(self, held=held, sagas=sagas), list(commands), [state])

    def fitted(self, budget: int = SUBJECT_BUDGET) -> tuple[SubjectSagas, bytes]:
        """This subject and its value; past `budget` bytes, without its oldest finished migrations
        (by updated_at, then migration_id: every replay forgets the same). A forgotten migration_id
        is unknown again. Migrations in progress are always kept."""
        raw = self.to_bytes()
        excess = len(raw) - budget
        if excess <= 0:
            return self, raw
        forget: set[str] = set()
        for saga in sorted((s for s in self.sagas.values() if s.final), key=lambda s: (s.updated_at, s.migration_id)):
            if excess <= 0:
                break
            forget.add(saga.migration_id)
            excess -= len(json.dumps({saga.migration_id: saga.to_dict()}, separators=(",", ":"))) - 1
        kept = evolve(self, sagas={m: s for m, s in self.sagas.items() if m not in forget},
                       unannounced=tuple(m for m in self.unannounced if m not in forget),
                       forgotten=self.forgotten + len(forget))
        return kept, kept.to_bytes()

    def to_bytes(self) -> bytes:
        data: dict[str, Any] = {
            "subject_id": self.subject_id, "partition": self.partition, "held": self.held,
            "sagas": {mid: state.to_dict() for mid, state in self.sagas.items()},
        }
        if self.unannounced:
            data["unannounced"] = list(self.unannounced)
        if self.forgotten:
            data["forgotten"] = self.forgotten
        return json.dumps(data, separators=(",", ":")).encode()

    @classmethod
    def from_bytes(cls, raw: bytes) -> SubjectSagas:
        data: dict[str, Any] = json.loads(raw)
        return cls(data["subject_id"], data["partition"], dict(data["held"]),
                   {mid: SagaState.from_dict(s) for mid, s in data["sagas"].items()},
                   tuple(data.get("unannounced", ())), data.get("forgotten", 0))

    @classmethod
    def load(cls, raw: bytes | None, subject_id: str, partition: int) -> SubjectSagas:
        subject = cls.from_bytes(raw) if raw else cls(subject_id)
        return evolve(subject, partition=partition)
