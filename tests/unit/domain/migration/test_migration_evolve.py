"""`evolve` is `dataclasses.replace` for the saga state's frozen dataclasses, and refuses the rest."""
from __future__ import annotations

import dataclasses

import pytest
from migration_support import POLICY, RID, request

from citybus.domain.frozen import evolve
from citybus.domain.migration import transition
from citybus.domain.migration.state import SagaState, StepState
from citybus.domain.migration.vocabulary import MigrationStatus, ScopeStatus, StepStatus
from citybus.migration.subjects import SubjectSagas


def _saga() -> SagaState:
    state, _ = transition(None, request(scopes=("PENSION", "MEDICAL")), POLICY)
    assert state is not None
    return state


CASES = [
    (StepState("TRANSFER_OUT", "440300", "m-1/PENSION/TRANSFER_OUT"),
     {"status": StepStatus.SENT, "attempts": 2, "deadline": 1_000}),
    (StepState("TRANSFER_OUT", "440300", "c", StepStatus.SENT, 1, 5, None), {"deadline": None, "reason": "late"}),
    (_saga().scopes[0], {"status": ScopeStatus.COMPLETED, "package": {"account": "A-1"}}),
    (_saga().scopes[1], {}),
    (_saga(), {"status": MigrationStatus.FAILED, "updated_at": 42}),
    (_saga(), {"scopes": ()}),
    (SubjectSagas(RID, 3, {"PENSION": "m-1"}, {"m-1": _saga()}, ("m-1",), 2), {"unannounced": (), "partition": 5}),
]


@pytest.mark.parametrize(("value", "changes"), CASES)
def test_evolve_equals_replace(value, changes) -> None:
    before = dataclasses.asdict(value)
    made = evolve(value, **changes)
    assert made == dataclasses.replace(value, **changes)
    assert type(made) is type(value)
    assert made is not value
    assert dataclasses.asdict(value) == before  # the original is untouched
    for name, changed in changes.items():
        assert getattr(made, name) is changed
    for f in dataclasses.fields(value):
        if f.name not in changes:
            assert getattr(made, f.name) is getattr(value, f.name)


def test_the_copy_is_frozen_and_its_own() -> None:
    step = StepState("TRANSFER_OUT", "440300", "c")
    made = evolve(step, attempts=1)
    with pytest.raises(dataclasses.FrozenInstanceError):
        made.attempts = 2  # type: ignore[misc]
    assert step.attempts == 0
    made.__dict__["reason"] = "x"  # the instance dicts are not shared
    assert step.reason is None


def test_an_unknown_field_is_refused_by_name() -> None:
    with pytest.raises(TypeError, match="StepState has no field attempt, statu"):
        evolve(StepState("TRANSFER_OUT", "440300", "c"), attempt=1, statu="SENT")


@dataclasses.dataclass(frozen=True)
class _Checked:
    n: int

    def __post_init__(self) -> None:
        if self.n < 0:
            raise ValueError("n")


@dataclasses.dataclass(frozen=True, slots=True)
class _Slotted:
    n: int


@dataclasses.dataclass
class _Mutable:
    n: int


@dataclasses.dataclass(frozen=True)
class _Derived:
    n: int
    twice: int = dataclasses.field(init=False, default=0)


class _Plain:
    n = 1


@pytest.mark.parametrize("value", [_Checked(1), _Slotted(1), _Mutable(1), _Derived(1), _Plain(),
                                   request()])
def test_only_plain_frozen_dataclasses_are_taken(value) -> None:
    """Where __init__ does more than store its arguments, a copy of the fields is not replace's value."""
    with pytest.raises(TypeError, match="use dataclasses.replace"):
        evolve(value, n=2)

