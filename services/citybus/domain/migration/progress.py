"""One scope's way through its steps: in order, retried on deadlines, compensated on failure."""
from __future__ import annotations

from citybus.domain.frozen import evolve
from citybus.domain.migration.messages import ReplyReceived, SendCommand
from citybus.domain.migration.plan import COMPENSATION, city_of, plan_of
from citybus.domain.migration.policy import SagaPolicy
from citybus.domain.migration.state import SagaState, ScopeState, StepState, command_id_for
from citybus.domain.migration.vocabulary import REVERT_STEPS, Outcome, Scope, ScopeStatus, Step, StepStatus

__all__ = ["new_scope", "start_scope", "scope_on_reply", "scope_on_deadline"]

Progress = tuple[ScopeState, list[SendCommand]]
_PACKAGE_STEPS = frozenset({Step.TRANSFER_IN, Step.REVERT_IN})


def new_scope(saga: SagaState, scope: Scope, status: ScopeStatus = ScopeStatus.PENDING) -> ScopeState:
    steps = tuple(
        StepState(step, city_of(party, saga.from_city, saga.to_city), command_id_for(saga.migration_id, scope, step))
        for step, party in plan_of(scope).steps
    )
    return ScopeState(scope, status, steps)


def start_scope(saga: SagaState, scope: ScopeState, policy: SagaPolicy, now: int) -> Progress:
    return _send(saga, evolve(scope, status=ScopeStatus.IN_PROGRESS), scope.steps[0], policy, now)


def _send(saga: SagaState, scope: ScopeState, step: StepState, policy: SagaPolicy, now: int) -> Progress:
    """Send (or re-send, same command_id) `step`, with the next attempt number and a new deadline."""
    attempt = step.attempts + 1
    deadline = policy.deadline(now, scope.scope, step.step)
    package = scope.package if step.step in _PACKAGE_STEPS else {}
    command = SendCommand(
        step.command_id, saga.migration_id, scope.scope, step.step, saga.subject_type, saga.subject_id,
        saga.from_city, saga.to_city, attempt, deadline, package, step.city,
    )
    sent = evolve(step, status=StepStatus.SENT, attempts=attempt, deadline=deadline)
    return scope.with_step(sent), [command]


def _send_next(saga: SagaState, scope: ScopeState, policy: SagaPolicy, now: int, reverts: bool) -> Progress | None:
    """Send the next step not sent yet: forward steps in order, or, compensating, the reverts in order."""
    waiting = next(
        (s for s in scope.steps if s.status == StepStatus.PENDING and (s.step in REVERT_STEPS) == reverts), None
    )
    return None if waiting is None else _send(saga, scope, waiting, policy, now)


def _compensation_status(scope: ScopeState, policy: SagaPolicy) -> ScopeStatus:
    """NEEDS_ATTENTION while the running revert has gone unanswered for more than max_attempts
    deadlines (attempt k is sent when k - 1 have passed), or a city answered it out of contract;
    REVERTING otherwise."""
    running = next((s for s in scope.steps if s.deadline is not None), None)
    if running is not None and (running.status == StepStatus.FAILED or running.attempts - 1 > policy.max_attempts):
        return ScopeStatus.NEEDS_ATTENTION
    return ScopeStatus.REVERTING


def _decide_failure(saga: SagaState, scope: ScopeState, step: StepState, policy: SagaPolicy, now: int) -> Progress:
    reason = f"{step.step} {step.status}" + (f": {step.reason}" if step.reason else "")
    if step.step == Step.PRECHECK:  # nothing moved
        status = ScopeStatus.REJECTED if step.status == StepStatus.REJECTED else ScopeStatus.FAILED
        return evolve(scope, status=status, reason=reason), []
    # A transfer that did not end DONE may still have been applied (a lost reply, a late DONE):
    # undo it, and the TRANSFER_OUT before it, with reverts that are no-ops if nothing was applied.
    reverts = tuple(
        StepState(
            revert, city_of(party, saga.from_city, saga.to_city), command_id_for(saga.migration_id, scope.scope, revert)
        )
        for revert, party in COMPENSATION[step.step]
    )
    scope = evolve(scope, status=ScopeStatus.REVERTING, reason=reason, steps=scope.steps + reverts)
    progress = _send_next(saga, scope, policy, now, reverts=True)
    assert progress is not None
    return progress


def scope_on_reply(saga: SagaState, scope: ScopeState, reply: ReplyReceived, policy: SagaPolicy, now: int) -> Progress:
    step = scope.step_by_command(reply.command_id)
    if step is None or reply.step != step.step or reply.city != step.city or reply.outcome not in Outcome.__members__:
        return scope, []
    outcome = Outcome(reply.outcome)
    if step.step in REVERT_STEPS:
        return _on_revert_reply(saga, scope, step, reply, outcome, policy, now)
    if step.status != StepStatus.SENT:
        # Decided already: a duplicate or late reply changes nothing. A late DONE of a transfer
        # is compensated by the revert already sent after it on the same ordered partition.
        return scope, []
    if outcome is not Outcome.DONE:
        decided = evolve(step, status=StepStatus(outcome.value), deadline=None, reason=reply.reason)
        return _decide_failure(saga, scope.with_step(decided), decided, policy, now)
    scope = scope.with_step(evolve(step, status=StepStatus.DONE, deadline=None, reason=reply.reason))
    if step.step == Step.TRANSFER_OUT:
        scope = evolve(scope, package=dict(reply.package))
    progress = _send_next(saga, scope, policy, now, reverts=False)
    return progress if progress is not None else (evolve(scope, status=ScopeStatus.COMPLETED), [])


def _on_revert_reply(
    saga: SagaState, scope: ScopeState, step: StepState, reply: ReplyReceived, outcome: Outcome,
    policy: SagaPolicy, now: int,
) -> Progress:
    if step.deadline is None:  # done already (a duplicate), or not sent yet
        return scope, []
    if outcome is not Outcome.DONE:
        # Out of contract (a revert always answers DONE): keep the deadline so it is retried, and flag it.
        scope = scope.with_step(evolve(step, status=StepStatus.FAILED, reason=reply.reason))
        return evolve(scope, status=_compensation_status(scope, policy)), []
    scope = scope.with_step(evolve(step, status=StepStatus.DONE, deadline=None, reason=reply.reason))
    progress = _send_next(saga, scope, policy, now, reverts=True)
    if progress is None:
        return evolve(scope, status=ScopeStatus.REVERTED), []
    scope, commands = progress
    return evolve(scope, status=_compensation_status(scope, policy)), commands


def scope_on_deadline(
    saga: SagaState, scope: ScopeState, command_id: str, at: int, policy: SagaPolicy, now: int
) -> Progress:
    step = scope.step_by_command(command_id)
    if step is None or step.deadline is None or at < step.deadline:  # answered, stale or early
        return scope, []
    if step.step in REVERT_STEPS:  # retried past max_attempts, until DONE
        scope, commands = _send(saga, scope, step, policy, now)
        return evolve(scope, status=_compensation_status(scope, policy)), commands
    if step.attempts < policy.max_attempts:
        return _send(saga, scope, step, policy, now)
    timed_out = evolve(step, status=StepStatus.TIMED_OUT, deadline=None)
    return _decide_failure(saga, scope.with_step(timed_out), timed_out, policy, now)
