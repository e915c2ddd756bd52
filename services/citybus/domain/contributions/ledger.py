"""All contribution state of one resident, across schemes: rules 1-4 of contributions.md.

State is one `StoredRecord` per `(city, record_id)`: only what the rules need. The month
books (which record each month retains, counts per city, duplicated months) are derived
from it: built per scheme on first use (so a ledger fresh from `from_bytes` builds only
the schemes an event touches), then kept up to date incrementally.
"""
from __future__ import annotations

import zlib
from dataclasses import dataclass
from enum import StrEnum

from citybus.domain.contributions.records import (
    ACTIVE, EMPLOYEE, MAX_RECORDS_PER_RESIDENT, SCHEMES, ContributionRecord, cents,
)
from citybus.domain.contributions.encoding import decode_ledger, encode_ledger
from citybus.domain.contributions.stored import RecordKey, StoredRecord
from citybus.domain.contributions.summary import Claim, ContributionSummary, MonthBook
from citybus.domain.ids import month_index
from citybus.errors import ValidationError

__all__ = ["ApplyOutcome", "ApplyResult", "PersonLedger", "content_digest"]


class ApplyOutcome(StrEnum):
    APPLIED = "APPLIED"
    UNCHANGED = "UNCHANGED"
    CONFLICT = "CONFLICT"  # the caller dead-letters the event as REVISION_CONFLICT
    FULL = "FULL"  # a new record beyond MAX_RECORDS_PER_RESIDENT: not kept, the caller dead-letters it


@dataclass(frozen=True, slots=True)
class ApplyResult:
    """`changed_schemes`: summaries that differ now (publish those). `touched_schemes`: schemes
    whose effective records were replaced, so statement figures may differ (re-check those)."""

    outcome: ApplyOutcome
    changed_schemes: tuple[str, ...] = ()
    touched_schemes: tuple[str, ...] = ()
    reason: str = ""


# the common results, shared (ApplyResult is immutable)
_UNCHANGED = ApplyResult(ApplyOutcome.UNCHANGED)
_APPLIED = ApplyResult(ApplyOutcome.APPLIED)
_CHANGED = {s: ApplyResult(ApplyOutcome.APPLIED, (s,), (s,)) for s in SCHEMES}


def content_digest(record: ContributionRecord, base_cents: int | None = None, employee_cents: int | None = None) -> int:
    """CRC-32 of the record's content (not its id, city or revision); the caller may pass the cents
    it has already converted (the same numbers)."""
    if base_cents is None:
        base_cents = cents(record.contribution_base)
    if employee_cents is None:
        employee_cents = cents(record.employee_amount)
    return zlib.crc32(
        f"{record.status}|{record.resident_id}|{record.scheme}|{record.insured_kind}|{record.month}|{base_cents}|"
        f"{cents(record.employer_amount)}|{employee_cents}|{record.recorded_at}".encode())


def _claim(key: RecordKey, stored: StoredRecord) -> Claim:
    return (stored.kind_rank, -stored.base_cents, key[0], key[1], stored.employee_cents, stored.base_cents)


def _ordered(schemes: set[str]) -> tuple[str, ...]:
    if len(schemes) <= 1:  # the common case: one scheme (or none)
        return tuple(schemes)
    return tuple(s for s in SCHEMES if s in schemes)


class PersonLedger:
    __slots__ = ("resident_id", "_records", "_books", "_summaries")

    def __init__(self, resident_id: str, records: dict[RecordKey, StoredRecord] | None = None) -> None:
        self.resident_id = resident_id
        self._records: dict[RecordKey, StoredRecord] = dict(records or {})
        self._books: dict[str, MonthBook] = {}
        self._summaries: dict[str, ContributionSummary | None] = {}

    @property
    def records(self) -> dict[RecordKey, StoredRecord]:
        """The kept revision of every record (read-only by convention)."""
        return self._records

    def apply(self, record: ContributionRecord) -> ApplyResult:
        if record.resident_id != self.resident_id:
            raise ValidationError("resident_id", f"belongs to another ledger than {self.resident_id}", record.resident_id)
        key = (record.city, record.record_id)
        old = self._records.get(key)
        base_cents, employee_cents = cents(record.contribution_base), cents(record.employee_amount)
        digest = content_digest(record, base_cents, employee_cents)
        if old is not None and record.revision <= old.revision:
            if record.revision < old.revision or digest == old.digest:
                return _UNCHANGED
            return ApplyResult(
                ApplyOutcome.CONFLICT,
                reason=f"revision {record.revision} of {key[0]}/{key[1]} was already seen with other content",
            )
        new = StoredRecord(
            record.revision, digest, record.status == ACTIVE, record.scheme,
            0 if record.insured_kind == EMPLOYEE else 1, month_index(record.month), base_cents, employee_cents,
        )
        if old is None and len(self._records) >= MAX_RECORDS_PER_RESIDENT:
            return ApplyResult(
                ApplyOutcome.FULL,
                reason=f"resident {self.resident_id} already has {len(self._records)} records, the most this "
                       f"service keeps for one resident; {key[0]}/{key[1]} is not counted",
            )
        if old is None:  # the common case, a record seen first: one cell at most, nothing moves
            if not new.active:
                self._records[key] = new
                return _APPLIED
            scheme = new.scheme
            book = self._book(scheme)  # built before the record is added
            self._records[key] = new
            # Always a changed summary: the month is new (one more month) or the claim joins its
            # cell (one more refund, as record_ids differ). Comparing the month's signature
            # before and after would sort the cell at every record: quadratic in one month.
            book.add(new.month, _claim(key, new))
            self._summaries.pop(scheme, None)
            return _CHANGED[scheme]
        cells = [(s.scheme, s.month) for s in (old, new) if s.active]
        books = {scheme: self._book(scheme) for scheme, _ in cells}  # built before the record changes
        self._records[key] = new
        if not cells:
            return ApplyResult(ApplyOutcome.APPLIED)
        if len(cells) == 2 and cells[0] == cells[1]:  # a new revision in the same month
            book = books[new.scheme]
            changed = {new.scheme} if book.replace(new.month, _claim(key, old), _claim(key, new)) else set()
        else:
            # A claim leaving a month or joining one always changes what the summary sees of it.
            moved = len(cells) == 2 and cells[0][0] == cells[1][0]
            summary_before = self.summary(new.scheme) if moved else None
            if old.active:
                books[old.scheme].remove(old.month, _claim(key, old))
            if new.active:
                books[new.scheme].add(new.month, _claim(key, new))
            changed = {s for s, _ in cells}
            if moved:
                # A record moving between two months of one scheme may leave the summary as it was
                # (an interior month vacated, a gap filled).
                self._summaries.pop(new.scheme, None)
                if self.summary(new.scheme) == summary_before:
                    changed.clear()
        for scheme in changed:
            self._summaries.pop(scheme, None)
        return ApplyResult(ApplyOutcome.APPLIED, _ordered(changed), _ordered({s for s, _ in cells}))

    def _book(self, scheme: str) -> MonthBook:
        book = self._books.get(scheme)
        if book is None:
            book = self._books[scheme] = MonthBook.of(
                (s.month, _claim(key, s)) for key, s in self._records.items() if s.active and s.scheme == scheme
            )
        return book

    def retained_claims(self, scheme: str) -> dict[int, Claim]:
        return self._book(scheme).retained()

    def summary(self, scheme: str) -> ContributionSummary | None:
        try:
            return self._summaries[scheme]
        except KeyError:
            result = self._summaries[scheme] = self._book(scheme).summary(self.resident_id, scheme)
            return result

    def summaries(self) -> tuple[ContributionSummary, ...]:
        """Non-empty summaries, in the order of SCHEMES."""
        return tuple(s for s in map(self.summary, SCHEMES) if s is not None)

    def has_effective_records(self) -> bool:
        return any(s.active for s in self._records.values())

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, PersonLedger):
            return NotImplemented
        return self.resident_id == other.resident_id and self._records == other._records

    __hash__ = None  # type: ignore[assignment]  # unhashable; typeshed types object.__hash__ as a method

    def __repr__(self) -> str:
        return f"PersonLedger({self.resident_id!r}, {len(self._records)} records)"

    def to_bytes(self) -> bytes:
        return encode_ledger(self.resident_id, self._records)

    @classmethod
    def from_bytes(cls, data: bytes) -> PersonLedger:
        return cls(*decode_ledger(data))
