"""Deterministic contribution histories for the benchmarks: `persons` people, `events` events.

Each person gets a working life of runs of consecutive months in a few cities, with the
things the rules exist for: overlapping months (duplicates and refunds), corrections (a
higher revision) and reversals. A person's events depend only on the seed and the person's
index, so a sample can be regenerated for verification without keeping a million dicts.
"""
from __future__ import annotations

import datetime as dt
import random
from collections.abc import Iterator
from decimal import Decimal

from citybus.domain.ids import month_from_index, month_index, resident_id_check_char

__all__ = ["CONTRIBUTION", "RECORDED_AT_MS", "person_events", "history", "resident_of", "events_per_person"]

CONTRIBUTION = "citybus.insurance.ContributionRecorded"
CITIES = ("440300", "442000", "441900", "310000", "320500", "330400")
RECORDED_AT_MS = int(dt.datetime(2025, 1, 15, tzinfo=dt.timezone.utc).timestamp() * 1000)
_FIRST = month_index("1995-01")
_LAST = month_index("2024-12")
_BASES = tuple(Decimal(b) for b in ("3000.00", "4500.00", "6000.00", "8000.00", "10000.00", "12500.50"))
_BIRTH = dt.date(1960, 1, 1)


def resident_of(index: int) -> str:
    """A valid GB 11643 id, distinct per index: birth date and sequence number vary with it."""
    birth = _BIRTH + dt.timedelta(days=index // 1000)
    first17 = f"440301{birth:%Y%m%d}{index % 1000:03d}"
    return first17 + resident_id_check_char(first17)


def events_per_person(persons: int, events: int, index: int) -> int:
    base, extra = divmod(events, persons)
    return base + (1 if index < extra else 0)


def person_events(seed: int, index: int, count: int) -> list[dict]:
    """`count` ContributionRecorded dicts (Avro form) of person `index`."""
    rng = random.Random(seed * 1_000_003 + index)
    resident = resident_of(index)
    originals = max(1, count - count // 8)  # about one in eight events is a correction or reversal
    records: list[dict] = []
    month = _FIRST + rng.randrange(0, 120)
    run = 0
    while len(records) < originals:
        city = rng.choice(CITIES)
        scheme = "PENSION" if rng.random() < 0.7 else "MEDICAL"
        kind = "EMPLOYEE" if rng.random() < 0.85 else "RESIDENT"
        base = rng.choice(_BASES)
        length = min(originals - len(records), rng.randint(1, 24))
        month = max(_FIRST, month - rng.randint(0, 2))  # a new job may overlap the old one
        for i in range(length):
            m = min(_LAST, month + i)
            records.append(_record(resident, city, f"{city[:2]}-{index}-{run}-{i}", 1, "ACTIVE", scheme, kind,
                                   m, base))
        month += length
        run += 1
    while len(records) < count:
        target = records[rng.randrange(originals)]
        fix = dict(target, revision=target["revision"] + len(records))  # higher than any earlier revision
        if rng.random() < 0.3:
            fix["status"] = "REVERSED"
        else:
            fix["contribution_base"] = rng.choice(_BASES)
            fix["employee_amount"] = (fix["contribution_base"] * Decimal("0.08")).quantize(Decimal("0.01"))
        records.append(fix)
    return records


def _record(resident: str, city: str, record_id: str, revision: int, status: str, scheme: str, kind: str,
            month: int, base: Decimal) -> dict:
    return {
        "record_id": record_id,
        "revision": revision,
        "status": status,
        "resident_id": resident,
        "city": city,
        "scheme": scheme,
        "insured_kind": kind,
        "month": month_from_index(month),
        "contribution_base": base,
        "employer_amount": (base * Decimal("0.16")).quantize(Decimal("0.01")),
        "employee_amount": (base * Decimal("0.08")).quantize(Decimal("0.01")),
        "recorded_at": RECORDED_AT_MS,
    }


def history(seed: int, persons: int, events: int) -> Iterator[dict]:
    """Every event of every person, person after person."""
    for index in range(persons):
        yield from person_events(seed, index, events_per_person(persons, events, index))
