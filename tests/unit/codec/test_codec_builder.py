import dataclasses
from decimal import Decimal

import pytest

from citybus.codec.mapping.builder import positional_builder
from citybus.codec.mapping.insurance import contribution_from_avro
from citybus.domain.contributions import ContributionRecord


@dataclasses.dataclass(frozen=True, slots=True)
class Pair:
    left: str
    right: int


def test_builds_what_the_constructor_builds_field_by_field():
    built = positional_builder(Pair)("a", 2)
    assert type(built) is Pair
    assert (built.left, built.right) == ("a", 2)
    assert built == Pair("a", 2) and hash(built) == hash(Pair("a", 2))


def test_what_it_builds_stays_frozen():
    built = positional_builder(Pair)("a", 2)
    with pytest.raises(dataclasses.FrozenInstanceError):
        built.left = "b"  # type: ignore[misc]


def test_needs_every_field():
    with pytest.raises(TypeError):
        positional_builder(Pair)("a")


@dataclasses.dataclass(slots=True)
class Mutable:
    value: int


@dataclasses.dataclass(frozen=True)
class NoSlots:
    value: int


@dataclasses.dataclass(frozen=True, slots=True)
class Checked:
    value: int

    def __post_init__(self) -> None:
        if self.value < 0:
            raise ValueError("negative")


@dataclasses.dataclass(frozen=True, slots=True)
class Derived:
    value: int
    twice: int = dataclasses.field(init=False, default=0)


@pytest.mark.parametrize("cls", [Mutable, NoSlots, Checked, Derived, tuple])
def test_refuses_a_class_it_would_build_wrongly(cls):
    with pytest.raises(TypeError, match="frozen dataclass with slots"):
        positional_builder(cls)


def test_contribution_from_avro_puts_every_field_in_its_place():
    record = {"record_id": "r-1", "revision": 3, "status": "ACTIVE", "resident_id": "440301196001010051",
              "city": "440300", "scheme": "PENSION", "insured_kind": "EMPLOYEE", "month": "2020-01",
              "contribution_base": Decimal("5000.00"), "employer_amount": Decimal("800.00"),
              "employee_amount": Decimal("400.00"), "recorded_at": 1700000000000}
    assert contribution_from_avro(record) == ContributionRecord(
        record_id="r-1", revision=3, status="ACTIVE", resident_id="440301196001010051", city="440300",
        scheme="PENSION", insured_kind="EMPLOYEE", month="2020-01", contribution_base=Decimal("5000.00"),
        employer_amount=Decimal("800.00"), employee_amount=Decimal("400.00"), recorded_at=1700000000000)
