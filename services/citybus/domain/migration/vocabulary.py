"""The saga's words, fixed by migration.md: subjects, scopes, steps, outcomes and statuses."""
from __future__ import annotations

from enum import StrEnum

__all__ = [
    "SubjectType",
    "Scope",
    "Step",
    "Outcome",
    "StepStatus",
    "ScopeStatus",
    "MigrationStatus",
    "FINAL_SCOPE_STATUSES",
    "TRANSFER_STEPS",
    "REVERT_STEPS",
]


class SubjectType(StrEnum):
    PERSON = "PERSON"
    ENTERPRISE = "ENTERPRISE"


class Scope(StrEnum):
    HOUSEHOLD = "HOUSEHOLD"
    PENSION = "PENSION"
    MEDICAL = "MEDICAL"
    PROVIDENT_FUND = "PROVIDENT_FUND"
    TAX_REGISTRATION = "TAX_REGISTRATION"


class Step(StrEnum):
    PRECHECK = "PRECHECK"
    TRANSFER_OUT = "TRANSFER_OUT"
    TRANSFER_IN = "TRANSFER_IN"
    REVERT_OUT = "REVERT_OUT"
    REVERT_IN = "REVERT_IN"


class Outcome(StrEnum):
    DONE = "DONE"
    REJECTED = "REJECTED"
    FAILED = "FAILED"


class StepStatus(StrEnum):
    PENDING = "PENDING"
    SENT = "SENT"
    DONE = "DONE"
    REJECTED = "REJECTED"
    FAILED = "FAILED"
    TIMED_OUT = "TIMED_OUT"


class ScopeStatus(StrEnum):
    PENDING = "PENDING"
    IN_PROGRESS = "IN_PROGRESS"
    COMPLETED = "COMPLETED"
    REJECTED = "REJECTED"
    FAILED = "FAILED"
    REVERTING = "REVERTING"
    REVERTED = "REVERTED"
    NEEDS_ATTENTION = "NEEDS_ATTENTION"


class MigrationStatus(StrEnum):
    IN_PROGRESS = "IN_PROGRESS"
    COMPLETED = "COMPLETED"
    PARTIAL = "PARTIAL"
    FAILED = "FAILED"
    REJECTED = "REJECTED"


FINAL_SCOPE_STATUSES = frozenset(
    {ScopeStatus.COMPLETED, ScopeStatus.REJECTED, ScopeStatus.FAILED, ScopeStatus.REVERTED}
)
TRANSFER_STEPS = frozenset({Step.TRANSFER_OUT, Step.TRANSFER_IN})
REVERT_STEPS = frozenset({Step.REVERT_OUT, Step.REVERT_IN})
