"""The migration saga as one function: `transition(state, event) -> (state, commands)`."""
from __future__ import annotations

from collections.abc import Callable, Iterable

from citybus.domain.frozen import evolve
from citybus.domain.migration.messages import (
    Command,
    DeadlineExpired,
    Event,
    MigrationRequested,
    ReplyReceived,
    SendCommand,
)
from citybus.domain.migration.policy import DEFAULT_POLICY, SagaPolicy
from citybus.domain.migration.progress import new_scope, scope_on_deadline, scope_on_reply, start_scope
from citybus.domain.migration.state import SagaState
from citybus.domain.migration.validation import refusal_reason, validate_request
from citybus.domain.migration.views import roll_up, status_of
from citybus.domain.migration.vocabulary import MigrationStatus, Scope, ScopeStatus, SubjectType
from citybus.errors import ValidationError

__all__ = ["transition", "refused_saga"]

Handled = tuple[SagaState | None, list[SendCommand]]


def transition(
    state: SagaState | None, event: Event, policy: SagaPolicy = DEFAULT_POLICY
) -> tuple[SagaState | None, list[Command]]:
    """Apply `event` to one saga. Returns the new state (None only for an event about an
    unknown saga other than its request) and the commands to carry out: SendCommands,
    then a PublishStatus when the status record changed."""
    if isinstance(event, MigrationRequested):
        new, sends = _on_request(state, event, policy)
    elif isinstance(event, ReplyReceived):
        new, sends = _on_reply(state, event, policy)
    elif isinstance(event, DeadlineExpired):
        new, sends = _on_deadline(state, event, policy)
    else:
        raise TypeError(f"no saga transition for {type(event).__name__}")
    if new is None or new == state:
        return state, []
    assert state is None or state.migration_id == new.migration_id
    if new.status != MigrationStatus.REJECTED:
        new = evolve(new, status=roll_up(new.scopes))
    if state is not None:
        new = evolve(new, updated_at=max(state.updated_at, _moment(event)))
    commands: list[Command] = list(sends)
    if state is None or _shows_a_change(state, new):
        commands.append(status_of(new))
    return new, commands


def _shows_a_change(old: SagaState, new: SagaState) -> bool:
    """Whether the status record of `new` differs from that of `old` in more than `updated_at`
    (`status_of` compared field by field, without building either record: a scope left as it
    was is the same object)."""
    if (old.status, old.reason, old.subject_type, old.subject_id, old.from_city, old.to_city) != (
            new.status, new.reason, new.subject_type, new.subject_id, new.from_city, new.to_city):
        return True
    if len(old.scopes) != len(new.scopes):
        return True
    return any(a is not b and (a.scope != b.scope or a.status != b.status or a.current_step != b.current_step)
               for a, b in zip(old.scopes, new.scopes))


def refused_saga(request: MigrationRequested, reason: str, scopes: Iterable[Scope] = ()) -> SagaState:
    """A request refused as a whole (field rule or conflict): REJECTED, nothing sent."""
    saga = SagaState(
        request.migration_id, _subject_type(request.subject_type), request.subject_id,
        request.from_city, request.to_city, request.requested_at, request.requested_by,
        MigrationStatus.REJECTED, reason, (), request.requested_at,
    )
    return evolve(saga, scopes=tuple(new_scope(saga, scope, ScopeStatus.REJECTED) for scope in scopes))


def _subject_type(value: str) -> str:
    return SubjectType(value) if value in SubjectType.__members__ else value


def _moment(event: Event) -> int:
    if isinstance(event, MigrationRequested):
        return event.requested_at
    return event.replied_at if isinstance(event, ReplyReceived) else event.at


def _on_request(state: SagaState | None, event: MigrationRequested, policy: SagaPolicy) -> Handled:
    if state is not None:  # a known migration_id starts nothing new
        return state, []
    try:
        valid = validate_request(event, policy.known_cities)
    except ValidationError as exc:
        return refused_saga(event, refusal_reason(exc)), []
    saga = SagaState(
        event.migration_id, valid.subject_type, event.subject_id, event.from_city, event.to_city,
        event.requested_at, event.requested_by, MigrationStatus.IN_PROGRESS, None, (), event.requested_at,
    )
    scopes, sends = [], []
    for name in valid.scopes:
        scope, commands = start_scope(saga, new_scope(saga, name), policy, event.requested_at)
        scopes.append(scope)
        sends.extend(commands)
    return evolve(saga, scopes=tuple(scopes)), sends


def _on_reply(state: SagaState | None, event: ReplyReceived, policy: SagaPolicy) -> Handled:
    return _route(state, event.migration_id, event.command_id, lambda saga, scope, now: scope_on_reply(
        saga, scope, event, policy, max(now, event.replied_at)))


def _on_deadline(state: SagaState | None, event: DeadlineExpired, policy: SagaPolicy) -> Handled:
    return _route(state, event.migration_id, event.command_id, lambda saga, scope, now: scope_on_deadline(
        saga, scope, event.command_id, event.at, policy, max(now, event.at)))


def _route(state: SagaState | None, migration_id: str, command_id: str, act: Callable) -> Handled:
    """Hand the event to the scope that sent `command_id`; anything else is ignored."""
    if state is None or migration_id != state.migration_id:
        return state, []
    scope = next((s for s in state.scopes if s.step_by_command(command_id) is not None), None)
    if scope is None:
        return state, []
    new_scope_state, sends = act(state, scope, state.updated_at)
    if new_scope_state == scope:
        return state, []
    return state.with_scope(new_scope_state), sends
