"""Builders for records and requests, so tables state only what they vary."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

from citybus.domain.contributions import ContributionRecord, RetirementRequest
from citybus.domain.ids import month_from_index, month_index, resident_id_check_char


def resident(serial: int = 1) -> str:
    first17 = f"44030119650101{serial:03d}"
    return first17 + resident_id_check_char(first17)


P = resident(1)
CITIES = frozenset({"440300", "442000", "441900", "310000", "320500", "330400"})
RECORDED_AT = int(dt.datetime(2025, 1, 15, tzinfo=dt.timezone.utc).timestamp() * 1000)


def rec(
    month: str = "2010-01",
    city: str = "440300",
    record_id: str | None = None,
    revision: int = 1,
    status: str = "ACTIVE",
    scheme: str = "PENSION",
    kind: str = "EMPLOYEE",
    base: str = "10000.00",
    employer: str = "1600.00",
    employee: str = "800.00",
    recorded_at: int = RECORDED_AT,
    resident_id: str = P,
) -> ContributionRecord:
    return ContributionRecord(
        record_id=record_id if record_id is not None else f"{city}-{scheme[:3]}-{month}",
        revision=revision,
        status=status,
        resident_id=resident_id,
        city=city,
        scheme=scheme,
        insured_kind=kind,
        month=month,
        contribution_base=Decimal(base),
        employer_amount=Decimal(employer),
        employee_amount=Decimal(employee),
        recorded_at=recorded_at,
    )


def months(start: str, count: int) -> list[str]:
    first = month_index(start)
    return [month_from_index(first + i) for i in range(count)]


def run(city: str, start: str, count: int, **fields) -> list[ContributionRecord]:
    """One record per consecutive month, ids `<city>-<scheme>-<month>` unless a prefix is given."""
    prefix = fields.pop("id_prefix", None)
    return [
        rec(month=m, city=city, record_id=f"{prefix}{m}" if prefix else None, **fields)
        for m in months(start, count)
    ]


def request(
    city: str = "442000", hukou_city: str = "440300", request_id: str = "r-1", resident_id: str = P
) -> RetirementRequest:
    return RetirementRequest(request_id, resident_id, city, hukou_city, dt.date(2025, 3, 1), RECORDED_AT)
