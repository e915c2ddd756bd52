"""The one-click migration saga (migration.md) as pure domain code: no clock, no I/O.

The caller feeds `transition` the requests, the cities' replies and the deadlines that
passed (`SagaState.next_deadline()` / `expiries_due(now)`), stores the state it returns, and
carries out the commands: `SendCommand` to `city.<code>.commands`, `PublishStatus` to
`bus.migration.status`.
"""
from citybus.domain.migration.admission import (
    HOUSEHOLD_MOVE_REQUESTER,
    HOUSEHOLD_MOVE_SCOPES,
    accept_request,
    household_moved_to_request,
)
from citybus.domain.migration.ledger import LedgerReply, RelationLedger
from citybus.domain.migration.messages import (
    STATUS_TOPIC,
    Command,
    DeadlineExpired,
    Event,
    MigrationRequested,
    PublishStatus,
    ReplyReceived,
    ScopeProgress,
    SendCommand,
)
from citybus.domain.migration.plan import COMPENSATION, SCOPE_PLANS, Party, ScopePlan, city_of, plan_of, scopes_of
from citybus.domain.migration.policy import (
    DEFAULT_DAYS,
    DEFAULT_POLICY,
    DEFAULT_STEP_DAYS,
    MS_PER_DAY,
    SagaPolicy,
    deadline_after,
    step_key,
)
from citybus.domain.migration.registry import SubjectRegistry, conflicting_migration, held_after
from citybus.domain.migration.saga import refused_saga, transition
from citybus.domain.migration.state import SagaState, ScopeState, StepState, command_id_for
from citybus.domain.migration.validation import ValidRequest, refusal_reason, validate_request
from citybus.domain.migration.views import roll_up, rfc3339, saga_json, status_of
from citybus.domain.migration.vocabulary import (
    FINAL_SCOPE_STATUSES,
    REVERT_STEPS,
    TRANSFER_STEPS,
    MigrationStatus,
    Outcome,
    Scope,
    ScopeStatus,
    Step,
    StepStatus,
    SubjectType,
)

__all__ = [
    # vocabulary
    "SubjectType", "Scope", "Step", "Outcome", "StepStatus", "ScopeStatus", "MigrationStatus",
    "FINAL_SCOPE_STATUSES", "TRANSFER_STEPS", "REVERT_STEPS",
    # the scope table
    "Party", "ScopePlan", "SCOPE_PLANS", "COMPENSATION", "scopes_of", "plan_of", "city_of",
    # configuration and deadlines
    "SagaPolicy", "DEFAULT_POLICY", "DEFAULT_STEP_DAYS", "DEFAULT_DAYS", "MS_PER_DAY", "deadline_after", "step_key",
    # events and commands
    "MigrationRequested", "ReplyReceived", "DeadlineExpired", "SendCommand", "PublishStatus",
    "ScopeProgress", "Event", "Command", "STATUS_TOPIC",
    # state and the saga
    "SagaState", "ScopeState", "StepState", "command_id_for", "transition", "refused_saga",
    "ValidRequest", "validate_request", "refusal_reason",
    # admission
    "SubjectRegistry", "conflicting_migration", "held_after", "accept_request",
    "household_moved_to_request", "HOUSEHOLD_MOVE_SCOPES", "HOUSEHOLD_MOVE_REQUESTER",
    # views
    "roll_up", "status_of", "saga_json", "rfc3339",
    # the cities' model
    "RelationLedger", "LedgerReply",
]
