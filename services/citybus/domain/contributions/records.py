"""The two input events of the aggregation, as validated domain values (contributions.md)."""
from __future__ import annotations

import datetime as dt
from collections.abc import Collection
from dataclasses import dataclass
from decimal import Decimal

from citybus.domain.ids import to_money, utf8_size, validate_city_code, validate_month, validate_resident_id
from citybus.errors import ValidationError

__all__ = [
    "ACTIVE",
    "REVERSED",
    "STATUSES",
    "EMPLOYEE",
    "RESIDENT",
    "INSURED_KINDS",
    "SCHEMES",
    "FIRST_MONTH",
    "MAX_ID_BYTES",
    "MAX_RECORDS_PER_RESIDENT",
    "MAX_REQUESTS_PER_RESIDENT",
    "ContributionRecord",
    "RetirementRequest",
    "validate_contribution",
    "check_contribution",
    "validate_retirement_request",
    "check_topic_city",
    "cents",
]

ACTIVE, REVERSED = "ACTIVE", "REVERSED"
STATUSES = (ACTIVE, REVERSED)
EMPLOYEE, RESIDENT = "EMPLOYEE", "RESIDENT"
INSURED_KINDS = (EMPLOYEE, RESIDENT)
SCHEMES = ("PENSION", "MEDICAL", "UNEMPLOYMENT", "WORK_INJURY", "MATERNITY")
FIRST_MONTH = "1990-01"
_MAX_AVRO_INT = 2**31 - 1
# Limits of this service (contributions.md sets none): what one resident's state and outputs may
# hold, so that a summary, a statement book and a ledger always fit in one Kafka record.
MAX_ID_BYTES = 64
MAX_RECORDS_PER_RESIDENT = 10_000
MAX_REQUESTS_PER_RESIDENT = 100


@dataclass(frozen=True, slots=True)
class ContributionRecord:
    record_id: str
    revision: int
    status: str
    resident_id: str
    city: str
    scheme: str
    insured_kind: str
    month: str
    contribution_base: Decimal
    employer_amount: Decimal
    employee_amount: Decimal
    recorded_at: int


@dataclass(frozen=True, slots=True)
class RetirementRequest:
    request_id: str
    resident_id: str
    city: str
    hukou_city: str
    retirement_date: dt.date
    requested_at: int


_CENTS: dict[Decimal, int] = {}  # amounts repeat (a few contribution bases per city): converted once


def cents(amount: Decimal) -> int:
    """A validated amount (two places at most) as integer cents, exactly."""
    found = _CENTS.get(amount)
    if found is None:
        if len(_CENTS) >= 1 << 14:
            _CENTS.clear()
        found = _CENTS[amount] = int(amount * 100)
    return found


def _non_empty(value: object, field: str) -> str:
    if not isinstance(value, str) or not value:
        raise ValidationError(field, "must be a non-empty string", value)
    return value


def _identifier(value: object, field: str) -> None:
    """A record_id or request_id: non-empty, and short enough that everything quoting it fits on the
    bus (a summary lists up to MAX_RECORDS_PER_RESIDENT refunds by record_id)."""
    text = _non_empty(value, field)
    if len(text) > MAX_ID_BYTES // 4 and utf8_size(text) > MAX_ID_BYTES:  # (4 bytes a character at most)
        raise ValidationError(field, f"must be at most {MAX_ID_BYTES} bytes in UTF-8", value)


def _epoch_millis(value: object, field: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValidationError(field, "must be an integer timestamp-millis", value)
    return value


def _one_of(value: object, allowed: tuple[str, ...], field: str) -> None:
    if value not in allowed:
        raise ValidationError(field, f"must be one of {', '.join(allowed)}", value)


_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc)
_MS = dt.timedelta(milliseconds=1)
_month_span: tuple[int, int, str] = (1, 0, "")  # (first ms, last ms + 1, month) last asked for; replaced whole


def _month_of(millis: int) -> str:
    """The UTC month of an epoch-milliseconds instant. The month last computed is kept with its
    span, so a batch recorded within one month costs a comparison per event."""
    global _month_span  # noqa: PLW0603 - one immutable tuple, read once and replaced whole (thread-safe)
    first, end_ms, known = _month_span
    if first <= millis < end_ms:
        return known
    moment = dt.datetime.fromtimestamp(millis / 1000, tz=dt.timezone.utc)
    month = f"{moment.year:04d}-{moment.month:02d}"
    start = dt.datetime(moment.year, moment.month, 1, tzinfo=dt.timezone.utc)
    end = dt.datetime(moment.year + moment.month // 12, moment.month % 12 + 1, 1, tzinfo=dt.timezone.utc) \
        if moment.year < dt.MAXYEAR or moment.month < 12 else None
    if end is not None:
        _month_span = ((start - _EPOCH) // _MS, (end - _EPOCH) // _MS, month)
    return month


_GOOD_AMOUNTS: set[Decimal] = set()  # amounts that passed to_money (the rules depend on the value only)


def validate_contribution(record: ContributionRecord, known_cities: Collection[str]) -> ContributionRecord:
    """Every rule of the ContributionRecorded table; raises ValidationError naming field and rule."""
    check_contribution(record.record_id, record.revision, record.status, record.resident_id, record.city,
                       record.scheme, record.insured_kind, record.month, record.contribution_base,
                       record.employer_amount, record.employee_amount, record.recorded_at, known_cities)
    return record


def check_contribution(record_id: object, revision: object, status: object, resident_id: object, city: object,
                       scheme: object, insured_kind: object, month: object, contribution_base: object,
                       employer_amount: object, employee_amount: object, recorded_at: object,
                       known_cities: Collection[str]) -> None:
    """`validate_contribution` on the fields themselves, for a caller that has no use for the
    record (a city's publisher checks, then encodes the dict it was given)."""
    _identifier(record_id, "record_id")
    if isinstance(revision, bool) or not isinstance(revision, int) or not 1 <= revision <= _MAX_AVRO_INT:
        raise ValidationError("revision", "must be an integer >= 1", revision)
    _one_of(status, STATUSES, "status")
    validate_resident_id(resident_id)
    validate_city_code(city, known_cities)
    _one_of(scheme, SCHEMES, "scheme")
    _one_of(insured_kind, INSURED_KINDS, "insured_kind")
    checked_month = validate_month(month)
    millis = _epoch_millis(recorded_at, "recorded_at")
    if checked_month < FIRST_MONTH:
        raise ValidationError("month", f"must be {FIRST_MONTH} or later", month)
    try:
        latest = _month_of(millis)
    except (OverflowError, OSError, ValueError) as exc:
        raise ValidationError("recorded_at", "out of the representable range", millis) from exc
    if checked_month > latest:
        raise ValidationError("month", f"must not be after the month of recorded_at ({latest}, UTC)", month)
    for field, amount in (("contribution_base", contribution_base), ("employer_amount", employer_amount),
                          ("employee_amount", employee_amount)):
        if not isinstance(amount, Decimal):
            raise ValidationError(field, "must be a Decimal amount", amount)
        try:
            if amount in _GOOD_AMOUNTS:
                continue
        except TypeError:  # a signalling NaN cannot be hashed: to_money says what is wrong with it
            pass
        to_money(amount, field)
        if len(_GOOD_AMOUNTS) >= 1 << 14:
            _GOOD_AMOUNTS.clear()
        _GOOD_AMOUNTS.add(amount)


def validate_retirement_request(request: RetirementRequest, known_cities: Collection[str]) -> RetirementRequest:
    _identifier(request.request_id, "request_id")
    validate_resident_id(request.resident_id)
    validate_city_code(request.city, known_cities)
    validate_city_code(request.hukou_city, known_cities, field="hukou_city")
    if isinstance(request.retirement_date, dt.datetime) or not isinstance(request.retirement_date, dt.date):
        raise ValidationError("retirement_date", "must be a date", request.retirement_date)
    _epoch_millis(request.requested_at, "requested_at")
    return request


def check_topic_city(record_city: str, topic_city: str) -> None:
    """bus.md: an event whose `city` differs from its topic's `<code>` is rejected as WRONG_CITY."""
    if record_city != topic_city:
        raise ValidationError(
            "city", f"must equal the topic's city {topic_city}", record_city, reason_code="WRONG_CITY"
        )
