"""The spec's scope table as data: which steps each scope runs, which city acts, and what undoes what."""
from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from citybus.domain.migration.vocabulary import Scope, Step, SubjectType

__all__ = ["Party", "ScopePlan", "SCOPE_PLANS", "COMPENSATION", "scopes_of", "plan_of", "city_of"]


class Party(StrEnum):
    """Which of the migration's two cities acts."""

    FROM_CITY = "from_city"
    TO_CITY = "to_city"


@dataclass(frozen=True)
class ScopePlan:
    subject_type: SubjectType
    scope: Scope
    steps: tuple[tuple[Step, Party], ...]


_TRANSFER = ((Step.TRANSFER_OUT, Party.FROM_CITY), (Step.TRANSFER_IN, Party.TO_CITY))

SCOPE_PLANS: tuple[ScopePlan, ...] = (
    ScopePlan(SubjectType.PERSON, Scope.HOUSEHOLD, ((Step.PRECHECK, Party.TO_CITY), *_TRANSFER)),
    ScopePlan(SubjectType.PERSON, Scope.PENSION, ((Step.PRECHECK, Party.TO_CITY), *_TRANSFER)),
    ScopePlan(SubjectType.PERSON, Scope.MEDICAL, ((Step.PRECHECK, Party.TO_CITY), *_TRANSFER)),
    ScopePlan(SubjectType.PERSON, Scope.PROVIDENT_FUND, ((Step.PRECHECK, Party.TO_CITY), *_TRANSFER)),
    # Tax: the source bureau's clearance (no unpaid tax, no unfiled return) is the precheck.
    ScopePlan(SubjectType.ENTERPRISE, Scope.TAX_REGISTRATION, ((Step.PRECHECK, Party.FROM_CITY), *_TRANSFER)),
)

# A transfer step that did not end DONE is undone by these reverts, run one after the other:
# the target lets go first, so the relation is never held by both cities.
COMPENSATION: dict[Step, tuple[tuple[Step, Party], ...]] = {
    Step.TRANSFER_OUT: ((Step.REVERT_OUT, Party.FROM_CITY),),
    Step.TRANSFER_IN: ((Step.REVERT_IN, Party.TO_CITY), (Step.REVERT_OUT, Party.FROM_CITY)),
}

_BY_SCOPE = {plan.scope: plan for plan in SCOPE_PLANS}


def scopes_of(subject_type: str) -> tuple[Scope, ...]:
    return tuple(plan.scope for plan in SCOPE_PLANS if plan.subject_type == subject_type)


def plan_of(scope: str) -> ScopePlan:
    return _BY_SCOPE[Scope(scope)]


def city_of(party: Party, from_city: str, to_city: str) -> str:
    return from_city if party is Party.FROM_CITY else to_city
