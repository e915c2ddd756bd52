"""The retirement statement as values: what the bus publishes, and what decides a re-issue."""
from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

__all__ = [
    "MedicalPolicy",
    "DEFAULT_MEDICAL_POLICY",
    "Transfer",
    "PensionFigures",
    "MedicalFigures",
    "RetirementStatement",
]


@dataclass(frozen=True, slots=True)
class MedicalPolicy:
    """A city's medical-insurance requirement; the defaults apply where the registry sets none."""

    required_total_months: int = 300
    required_local_months: int = 120


DEFAULT_MEDICAL_POLICY = MedicalPolicy()


@dataclass(frozen=True, slots=True)
class Transfer:
    from_city: str
    pooled_fund: Decimal
    individual_account: Decimal


@dataclass(frozen=True, slots=True)
class PensionFigures:
    total_months: int
    months_by_city: dict[str, int]
    eligible: bool
    payable_city: str
    transfers: tuple[Transfer, ...]


@dataclass(frozen=True, slots=True)
class MedicalFigures:
    total_months: int
    local_months: int
    required_total_months: int
    required_local_months: int
    eligible: bool
    shortfall_months: int


@dataclass(frozen=True, slots=True)
class RetirementStatement:
    request_id: str
    resident_id: str
    city: str
    hukou_city: str
    revision: int
    pension: PensionFigures
    medical: MedicalFigures

    @property
    def figures(self) -> tuple[PensionFigures, MedicalFigures]:
        return self.pension, self.medical

    def same_figures(self, other: RetirementStatement) -> bool:
        """False means a re-issue with `revision` + 1 is due."""
        return self.figures == other.figures
