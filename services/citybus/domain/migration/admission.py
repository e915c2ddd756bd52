"""Admitting requests: idempotency by migration_id, conflicts across sagas, and zero-click moves."""
from __future__ import annotations

from citybus.domain.migration.messages import Command, MigrationRequested
from citybus.domain.migration.policy import DEFAULT_POLICY, SagaPolicy
from citybus.domain.migration.registry import SubjectRegistry
from citybus.domain.migration.saga import refused_saga, transition
from citybus.domain.migration.state import SagaState
from citybus.domain.migration.validation import validate_request
from citybus.domain.migration.views import status_of
from citybus.domain.migration.vocabulary import Scope, SubjectType
from citybus.errors import ValidationError

__all__ = ["accept_request", "household_moved_to_request", "HOUSEHOLD_MOVE_SCOPES", "HOUSEHOLD_MOVE_REQUESTER"]

HOUSEHOLD_MOVE_SCOPES = (Scope.PENSION, Scope.MEDICAL, Scope.PROVIDENT_FUND)
HOUSEHOLD_MOVE_REQUESTER = "household-move"


def accept_request(
    existing: SagaState | None,
    request: MigrationRequested,
    registry: SubjectRegistry,
    policy: SagaPolicy = DEFAULT_POLICY,
) -> tuple[SagaState, list[Command], SubjectRegistry]:
    """Admit `request`. `existing` is the saga already stored under its migration_id, if any:
    then nothing new starts and no command is returned. Otherwise the request is validated,
    checked for a conflict (REJECTED `CONFLICT: <migration_id>`), and started."""
    if existing is not None:
        return existing, [], registry
    try:
        valid = validate_request(request, policy.known_cities)
    except ValidationError:
        valid = None  # transition() refuses it, naming the rule
    if valid is not None:
        holder = registry.conflict(request.subject_id, valid.scopes, request.migration_id)
        if holder is not None:
            refused = refused_saga(request, f"CONFLICT: {holder}", valid.scopes)
            return refused, [status_of(refused)], registry
    state, commands = transition(None, request, policy)
    assert state is not None
    return state, commands, registry.track(state)


def household_moved_to_request(
    move_id: str, resident_id: str, from_city: str, to_city: str, moved_at: int
) -> MigrationRequested:
    """Zero-click: the household already moved, so the bus moves the rest; a redelivered
    move has the same migration_id and starts nothing new."""
    return MigrationRequested(
        migration_id=f"move-{move_id}",
        subject_type=SubjectType.PERSON,
        subject_id=resident_id,
        from_city=from_city,
        to_city=to_city,
        scopes=HOUSEHOLD_MOVE_SCOPES,
        requested_at=moved_at,
        requested_by=HOUSEHOLD_MOVE_REQUESTER,
    )
