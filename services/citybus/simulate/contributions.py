"""Years of social-insurance contributions of many people across the six cities, as the cities'
systems would publish them: deterministic for a seed, streamed with bounded memory.

Careers move between cities (mostly within a region), with overlapping months at each move
(重复缴费), flexible-employment (RESIDENT) months, corrections (higher revisions), reversals
(冲正), redeliveries, and retirement requests, some with a hukou in another city. The spec's
worked example person P is always the first person. With `bad=True`, a few events that a bus
service must dead-letter are mixed in, each with the reason code it should get.
"""
from __future__ import annotations

import asyncio
import datetime as dt
import random
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from citybus.bus.publisher import CityPublisher, city_producer
from citybus.catalog import default_catalog
from citybus.codec import cloudevent_headers, encode
from citybus.domain.ids import month_from_index, month_index, resident_id_check_char

__all__ = ["HistoryShape", "SimulatedEvent", "contribution_history", "contribution_record", "publish_history",
           "WORKED_EXAMPLE_ID", "WORKED_EXAMPLE_REQUEST", "CONTRIBUTION", "RETIREMENT"]

CONTRIBUTION = "citybus.insurance.ContributionRecorded"
RETIREMENT = "citybus.insurance.RetirementRequested"
REGIONS = {"GBA": ("440300", "442000", "441900"), "YRD": ("310000", "320500", "330400")}
CITIES = REGIONS["GBA"] + REGIONS["YRD"]
# residence areas (first 6 digits of a resident id) per city, and a monthly base range (CNY)
_AREA = {"440300": "440305", "442000": "442000", "441900": "441900", "310000": "310104", "320500": "320505",
         "330400": "330402"}
_BASE = {"440300": (7000, 30000), "310000": (7500, 34000), "442000": (4000, 14000), "441900": (4000, 15000),
         "320500": (5000, 20000), "330400": (4500, 16000)}
_LAST_MONTH = month_index("2025-05")
_NOW_MS = int(dt.datetime(2025, 6, 20, tzinfo=dt.timezone.utc).timestamp() * 1000)
_P17 = "44030519650315002"
WORKED_EXAMPLE_ID = _P17 + resident_id_check_char(_P17)
WORKED_EXAMPLE_REQUEST = "R-442000-P"


@dataclass(frozen=True, slots=True)
class SimulatedEvent:
    """One event as a city publishes it. `record` is the Avro dict of a good event; a bad one
    carries `raw` bytes instead and the `reason_code` a bus service must dead-letter it with."""

    city: str
    full_name: str
    key: str
    record: dict[str, Any] | None = None
    raw: bytes | None = None
    reason_code: str | None = None

    @property
    def topic(self) -> str:
        kind = "contributions" if self.full_name == CONTRIBUTION else "retirements"
        return f"city.{self.city}.insurance.{kind}"


@dataclass(frozen=True)
class HistoryShape:
    """How long and how eventful a career is; the defaults give ~50 events per person."""

    stints: tuple[int, int] = (1, 3)
    stint_months: tuple[int, int] = (6, 24)
    first_month: tuple[str, str] = ("1996-01", "2018-12")
    schemes: tuple[str, ...] = ("PENSION", "MEDICAL")
    extra_scheme_share: float = 0.15  # some persons also pay UNEMPLOYMENT
    overlap_share: float = 0.35  # a move with months paid in both cities
    resident_share: float = 0.1  # a stint of flexible employment (RESIDENT)
    correction_share: float = 0.03
    reversal_share: float = 0.01
    redelivery_share: float = 0.02
    retirement_share: float = 0.12
    hukou_elsewhere_share: float = 0.35
    interleave: int = 40  # persons whose events are shuffled together (cities publish concurrently)


def resident_id(index: int, city: str) -> str:
    """A valid GB 11643 id, unique per index: area of `city`, a birth date, a serial."""
    birth = dt.date(1958, 1, 1) + dt.timedelta(days=(index // 900) % 12000)
    first17 = f"{_AREA[city]}{birth:%Y%m%d}{100 + index % 900:03d}"
    return first17 + resident_id_check_char(first17)


def _money(value: float | Decimal) -> Decimal:
    return Decimal(value).quantize(Decimal("0.01"))


def contribution_record(rid: str, city: str, record_id: str, month: int, scheme: str, kind: str, base: Decimal,
            revision: int = 1, status: str = "ACTIVE") -> dict[str, Any]:
    employee_rate, employer_rate = {"PENSION": ("0.08", "0.16"), "MEDICAL": ("0.02", "0.07")}.get(
        scheme, ("0.005", "0.005"))
    employee = _money(base * Decimal(employee_rate))
    employer = Decimal("0.00") if kind == "RESIDENT" else _money(base * Decimal(employer_rate))
    recorded = month_from_index(min(month + 1 + revision, _LAST_MONTH + 1))
    recorded_at = int(dt.datetime(int(recorded[:4]), int(recorded[5:]), 5 + revision,
                                  tzinfo=dt.timezone.utc).timestamp() * 1000)
    return {"record_id": record_id, "revision": revision, "status": status, "resident_id": rid, "city": city,
            "scheme": scheme, "insured_kind": kind, "month": month_from_index(month), "contribution_base": base,
            "employer_amount": employer, "employee_amount": employee, "recorded_at": recorded_at}


def _request(rid: str, city: str, hukou: str, request_id: str) -> dict[str, Any]:
    return {"request_id": request_id, "resident_id": rid, "city": city, "hukou_city": hukou,
            "retirement_date": dt.date(2025, 7, 1), "requested_at": _NOW_MS}


def worked_example() -> list[SimulatedEvent]:
    """Person P of contributions.md: 440300 2010-01..2020-12, 442000 2020-12..2024-03, applies in 442000."""
    events = []
    for city, start, end, base in (("440300", "2010-01", "2020-12", "10000.00"),
                                   ("442000", "2020-12", "2024-03", "6000.00")):
        for month in range(month_index(start), month_index(end) + 1):
            record = contribution_record(WORKED_EXAMPLE_ID, city, f"P-{city}-{month_from_index(month)}", month,
                                         "PENSION", "EMPLOYEE", Decimal(base))
            events.append(SimulatedEvent(city, CONTRIBUTION, WORKED_EXAMPLE_ID, record))
    events.append(SimulatedEvent("442000", RETIREMENT, WORKED_EXAMPLE_ID,
                                 _request(WORKED_EXAMPLE_ID, "442000", "440300", WORKED_EXAMPLE_REQUEST)))
    return events


def _person(index: int, rng: random.Random, shape: HistoryShape) -> tuple[list[SimulatedEvent], list[SimulatedEvent]]:
    """(events, late events): late ones (corrections, reversals, redeliveries) come after a retirement."""
    region = rng.choice(("GBA", "GBA", "YRD"))
    home = rng.choice(REGIONS[region])
    rid = resident_id(index, home)
    schemes = list(shape.schemes) + (["UNEMPLOYMENT"] if rng.random() < shape.extra_scheme_share else [])
    month = rng.randint(month_index(shape.first_month[0]), month_index(shape.first_month[1]))
    city = home
    records: list[dict[str, Any]] = []
    for stint in range(rng.randint(*shape.stints)):
        if stint:
            pool = REGIONS[region] if rng.random() < 0.8 else CITIES
            city = rng.choice([c for c in pool if c != city])
            if rng.random() < shape.overlap_share:
                month -= rng.randint(1, 3)  # paid in both cities around the move
        kind = "RESIDENT" if rng.random() < shape.resident_share else "EMPLOYEE"
        low, high = _BASE[city]
        base = Decimal(rng.randrange(low, high, 100))
        for _ in range(rng.randint(*shape.stint_months)):
            if month > _LAST_MONTH:
                break
            for scheme in schemes:
                record_id = f"{city[:2]}{index:07d}-{scheme[:3]}-{month_from_index(month)}-{kind[0]}"
                records.append(contribution_record(rid, city, record_id, month, scheme, kind, base))
            month += 1
        if rng.random() < 0.15:
            month += rng.randint(1, 18)  # a gap between jobs
    events = [SimulatedEvent(r["city"], CONTRIBUTION, rid, r) for r in records]
    late: list[SimulatedEvent] = []
    for r in records:
        roll = rng.random()
        if roll < shape.correction_share:
            base = r["contribution_base"] + Decimal(rng.choice((-500, 300, 1200)))
            fixed = contribution_record(rid, r["city"], r["record_id"], month_index(r["month"]), r["scheme"],
                                        r["insured_kind"], base, revision=2)
            late.append(SimulatedEvent(r["city"], CONTRIBUTION, rid, fixed))
        elif roll < shape.correction_share + shape.reversal_share:
            void = {**r, "revision": 2, "status": "REVERSED", "recorded_at": r["recorded_at"] + 86_400_000}
            late.append(SimulatedEvent(r["city"], CONTRIBUTION, rid, void))
        elif roll < shape.correction_share + shape.reversal_share + shape.redelivery_share:
            late.append(SimulatedEvent(r["city"], CONTRIBUTION, rid, r))
    if records and rng.random() < shape.retirement_share:
        applied = records[-1]["city"]
        hukou = rng.choice([c for c in CITIES if c != applied]) if rng.random() < shape.hukou_elsewhere_share else home
        events.append(SimulatedEvent(applied, RETIREMENT, rid, _request(rid, applied, hukou, f"R-{applied}-{index:07d}")))
    return events, late


def contribution_history(persons: int, seed: int = 7, shape: HistoryShape | None = None,
                         bad: bool = False, first_person: int = 0) -> Iterator[SimulatedEvent]:
    """`persons` careers (P of the worked example first), `interleave` persons at a time shuffled
    together, each group's late events after it; memory is bounded by one group.

    Persons are numbered from `first_person` (ids and record ids follow from the number), so a
    second load with another `first_person` brings new people; P comes only with `first_person` 0."""
    shape = shape or HistoryShape()
    rng = random.Random(seed)
    bad_every = max(1, persons // shape.interleave // 8)  # about eight rounds of bad events
    if first_person == 0:
        yield from worked_example()
    end = first_person + persons
    for first in range(first_person + 1, end, shape.interleave):
        group: list[SimulatedEvent] = []
        late: list[SimulatedEvent] = []
        for index in range(first, min(end, first + shape.interleave)):
            events, later = _person(index, rng, shape)
            group += events
            late += later
        rng.shuffle(group)
        rng.shuffle(late)
        yield from group
        yield from late
        if bad and (first - first_person - 1) // shape.interleave % bad_every == 0:
            yield from bad_events(first, group, late)


def bad_events(tag: int, around: list[SimulatedEvent], late: list[SimulatedEvent]) -> Iterator[SimulatedEvent]:
    """One of each kind of bad input, built from a good event of `around` that no late event
    corrects (so the conflicting copy meets revision 1 and is a REVISION_CONFLICT)."""
    corrected = {(e.city, e.record["record_id"]) for e in late if e.full_name == CONTRIBUTION and e.record is not None}
    good, record = next((e, e.record) for e in around if e.full_name == CONTRIBUTION and e.record is not None
                        and (e.city, e.record["record_id"]) not in corrected)
    city, rid = good.city, good.key
    body = encode(CONTRIBUTION, record)
    other = next(c for c in CITIES if c != city)
    wrong_check = rid[:17] + ("0" if rid[17] != "0" else "1")
    yield SimulatedEvent(city, CONTRIBUTION, rid, raw=body[:-3], reason_code="UNDECODABLE")
    yield SimulatedEvent(city, CONTRIBUTION, rid, raw=b"\x00\x01" + body[2:], reason_code="UNDECODABLE")
    yield SimulatedEvent(city, CONTRIBUTION, rid, raw=body[:2] + b"\xde\xad\xbe\xef\x00\x00\x00\x00" + body[10:],
                         reason_code="UNKNOWN_SCHEMA")
    yield SimulatedEvent(city, CONTRIBUTION, rid, raw=encode(RETIREMENT, _request(rid, city, city, f"X-{tag}")),
                         reason_code="WRONG_TYPE")
    yield SimulatedEvent(city, CONTRIBUTION, wrong_check,
                         raw=encode(CONTRIBUTION, {**record, "resident_id": wrong_check, "record_id": f"BAD-{tag}"}),
                         reason_code="INVALID_FIELD")
    yield SimulatedEvent(city, CONTRIBUTION, rid, raw=encode(CONTRIBUTION, {**record, "city": other,
                                                                             "record_id": f"BADCITY-{tag}"}),
                         reason_code="WRONG_CITY")
    yield SimulatedEvent(city, RETIREMENT, rid, raw=encode(RETIREMENT, {**_request(rid, city, "999999", f"U-{tag}")}),
                         reason_code="UNKNOWN_CITY")
    conflicting = {**record, "employee_amount": record["employee_amount"] + Decimal("1.00")}
    yield SimulatedEvent(city, CONTRIBUTION, rid, raw=encode(CONTRIBUTION, conflicting),
                         reason_code="REVISION_CONFLICT")


async def publish_history(bootstrap: str, events: Iterable[SimulatedEvent], in_flight: int = 20000,
                          system: str = "simulator") -> Counter[str]:
    """Publish as each city's system would (CityPublisher: validated, encoded, CloudEvents headers),
    many sends in flight; bad events go out as their raw bytes. Returns counts per topic, and
    per `deadletter:<reason>` for the bad ones."""
    producer = city_producer(bootstrap)
    catalog = default_catalog()
    await producer.start()
    publishers = {city: CityPublisher(catalog, city, producer, system=system) for city in catalog.city_codes}
    counts: Counter[str] = Counter()
    pending: list[asyncio.Future] = []
    try:
        for event in events:
            if event.raw is None:
                assert event.record is not None  # a good event
                topic, key, value, headers = publishers[event.city].prepare(event.full_name, event.record)
            else:
                topic, key, value = event.topic, event.key.encode(), event.raw
                headers = cloudevent_headers(event.full_name, f"/cities/{event.city}/{system}")
                counts[f"deadletter:{event.reason_code}"] += 1
            pending.append(await producer.send(topic, value, key=key, headers=headers))
            counts[topic] += 1
            if len(pending) >= in_flight:
                await asyncio.gather(*pending)
                pending.clear()
        await asyncio.gather(*pending)
    finally:
        await producer.stop()
    return counts
