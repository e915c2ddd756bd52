"""One scheme's months for one person: which record each month retains, and the summary of it."""
from __future__ import annotations

from bisect import insort
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Final

from citybus.domain.ids import month_from_index

__all__ = ["Refund", "ContributionSummary", "Claim", "MonthBook"]

# An effective record as a month sees it. Tuple order *is* rule 3's precedence:
# EMPLOYEE (0) before RESIDENT (1), higher base, lower city code, lower record_id.
Claim = tuple[int, int, str, str, int, int]  # kind_rank, -base_cents, city, record_id, employee_cents, base_cents
# Final: mypy then knows each constant's value, and so the type of `claim[_CITY]` (str)
_RANK: Final = 0
_NEG_BASE: Final = 1
_CITY: Final = 2
_RECORD_ID: Final = 3
_EMPLOYEE: Final = 4
_BASE: Final = 5


@dataclass(frozen=True, slots=True)
class Refund:
    city: str
    record_id: str
    month: str
    amount: Decimal


@dataclass(frozen=True, slots=True)
class ContributionSummary:
    """`citybus.insurance.ContributionSummary`; `months_by_city` is ordered by city code."""

    resident_id: str
    scheme: str
    total_months: int
    months_by_city: dict[str, int]
    first_month: str
    last_month: str
    last_city: str
    duplicate_months: int
    refunds: tuple[Refund, ...]


class MonthBook:
    """Effective claims per month index, kept sorted so `cell[0]` is the retained one."""

    __slots__ = ("cells", "city_months", "duplicated")

    def __init__(self) -> None:
        self.cells: dict[int, list[Claim]] = {}
        self.city_months: dict[str, int] = {}
        self.duplicated: set[int] = set()

    @classmethod
    def of(cls, claims: Iterable[tuple[int, Claim]]) -> MonthBook:
        """Built in one pass from (month, claim) pairs: what `add` would give, without insort."""
        book = cls()
        cells = book.cells
        for month, claim in claims:
            cell = cells.get(month)
            if cell is None:
                cells[month] = [claim]
            else:
                cell.append(claim)
        counts = book.city_months
        for month, cell in cells.items():
            if len(cell) > 1:
                cell.sort()
                book.duplicated.add(month)
            city = cell[0][_CITY]
            counts[city] = counts.get(city, 0) + 1
        return book

    def replace(self, month: int, old: Claim, new: Claim) -> bool:
        """A record's new revision in the same month; whether the summary sees it. Both claims
        share city and record_id: the month's retained city stays when the record is retained
        before and after, and the refunds differ only by its amount when it is refunded in both."""
        was_retained = self.cells[month][0] == old
        self.remove(month, old)
        self.add(month, new)
        is_retained = self.cells[month][0] == new
        if was_retained != is_retained:
            return True
        return not was_retained and old[_EMPLOYEE] != new[_EMPLOYEE]

    def add(self, month: int, claim: Claim) -> None:
        cell = self.cells.get(month)
        if cell is None:
            self.cells[month] = [claim]
            self._count(claim[_CITY], 1)
            return
        retained = cell[0]
        insort(cell, claim)
        self.duplicated.add(month)
        if cell[0] is not retained:
            self._count(retained[_CITY], -1)
            self._count(claim[_CITY], 1)

    def remove(self, month: int, claim: Claim) -> None:
        cell = self.cells[month]
        retained = cell[0]
        cell.remove(claim)
        if not cell:
            del self.cells[month]
            self._count(retained[_CITY], -1)
            return
        if len(cell) == 1:
            self.duplicated.discard(month)
        if cell[0] is not retained:
            self._count(retained[_CITY], -1)
            self._count(cell[0][_CITY], 1)

    def _count(self, city: str, delta: int) -> None:
        n = self.city_months.get(city, 0) + delta
        if n:
            self.city_months[city] = n
        else:
            del self.city_months[city]

    def retained(self) -> dict[int, Claim]:
        return {month: cell[0] for month, cell in self.cells.items()}

    def summary(self, resident_id: str, scheme: str) -> ContributionSummary | None:
        cells = self.cells
        if not cells:
            return None
        last = max(cells)
        refunds = tuple(
            Refund(c[_CITY], c[_RECORD_ID], month_from_index(month), Decimal(c[_EMPLOYEE]).scaleb(-2))
            for month in sorted(self.duplicated)
            for c in sorted(cells[month][1:], key=lambda c: (c[_CITY], c[_RECORD_ID]))
        )
        return ContributionSummary(
            resident_id=resident_id,
            scheme=scheme,
            total_months=len(cells),
            months_by_city=dict(sorted(self.city_months.items())),
            first_month=month_from_index(min(cells)),
            last_month=month_from_index(last),
            last_city=cells[last][0][_CITY],
            duplicate_months=len(self.duplicated),
            refunds=refunds,
        )
