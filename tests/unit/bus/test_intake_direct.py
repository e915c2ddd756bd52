"""The direct intake (a contribution read straight into its domain record, no dict) gives what the
usual one gives, value for value and refusal for refusal, on real and on bad bytes; and it is the
path taken for the plain cases, not a fallback that always hands over."""
from __future__ import annotations

import random
from typing import Any

import pytest

from citybus.bench.history import history
from citybus.bus import Accepted, Rejection, default_intake
from citybus.bus.publisher import CityPublisher
from citybus.catalog import default_catalog
from citybus.codec import encode
from citybus.codec.mapping import contribution_from_avro
from tests.unit.aggregation.test_poison_pills import CONTRIBUTION, _EXTREMES_OF, cents, raw_decode, raw_encode

from .events import contribution, retirement

TOPIC = "city.440300.insurance.contributions"
PLAIN, DIRECT = default_intake(), default_intake(direct=True)


def outcome(intake: Any, value: bytes | None, topic: str = TOPIC) -> tuple:
    got = intake.check(topic, 3, 42, b"440301199001011234", value, [("ce_id", b"x")])
    if isinstance(got, Rejection):
        return "refused", got.reason_code, got.reason, got.source_topic, got.partition, got.offset, got.value, got.headers
    assert isinstance(got, Accepted)
    value_type = type(got.value)
    return "accepted", value_type, got.value, got.topic, got.partition, got.offset, got.key


def same(value: bytes | None, topic: str = TOPIC) -> tuple:
    plain, direct = outcome(PLAIN, value, topic), outcome(DIRECT, value, topic)
    assert direct == plain, value
    return plain


def _benchmark_events() -> list[tuple[str, bytes]]:
    catalog = default_catalog()
    publishers = {c: CityPublisher(catalog, c, None, system="test") for c in catalog.city_codes}
    prepared = [publishers[e["city"]].prepare(CONTRIBUTION, e) for e in history(3, 200, 2_000)]
    return [(topic, value) for topic, _, value, _ in prepared]


def test_real_events_read_the_same_and_straight_into_the_record():
    for topic, value in _benchmark_events():
        assert same(value, topic)[0] == "accepted"
        accepted = DIRECT.check(topic, 0, 0, None, value, [])
        assert accepted.record is None  # the direct path was taken (the usual one keeps the dict)
        assert accepted.value == contribution_from_avro(PLAIN.check(topic, 0, 0, None, value, []).record)


@pytest.mark.parametrize("field", ["record_id", "resident_id", "city", "month", "contribution_base",
                                   "employer_amount", "employee_amount", "recorded_at", "revision"])
def test_every_field_at_its_extremes_gives_the_same_outcome(field):
    """Sizes past the limits, amounts past the precision, timestamps past what a datetime holds."""
    good = encode(CONTRIBUTION, contribution())
    base = raw_decode(CONTRIBUTION, good)
    outcomes = {same(raw_encode(CONTRIBUTION, {**base, field: extreme}))[:2] for extreme in _EXTREMES_OF[field]}
    assert any(o[0] == "refused" for o in outcomes)


@pytest.mark.parametrize("millis", [-62_135_596_800_001, -62_135_596_800_000, 0, 253_402_300_799_999,
                                    253_402_300_800_000, 2**63 - 1, -2**63])
def test_timestamps_at_the_edges_of_a_datetime(millis):
    """Read as a number, recorded_at could pass where the usual reader (a datetime) refuses it."""
    base = raw_decode(CONTRIBUTION, encode(CONTRIBUTION, contribution()))
    same(raw_encode(CONTRIBUTION, {**base, "recorded_at": millis}))


def test_odd_amount_encodings_give_the_same_outcome():
    base = raw_decode(CONTRIBUTION, encode(CONTRIBUTION, contribution()))
    for raw in (b"", b"\x00", b"\x00\x00\x00\x01", b"\xff", cents(10**20), cents(-1)):
        same(raw_encode(CONTRIBUTION, {**base, "employee_amount": raw}))


def test_corrupt_bytes_give_the_same_outcome():
    rng = random.Random(5)
    good = encode(CONTRIBUTION, contribution())
    refused = 0
    for i in range(3000):
        body = bytearray(good)
        if i % 3 == 0:
            for _ in range(rng.randint(1, 3)):
                body[rng.randrange(10, len(body))] = rng.randrange(256)
        elif i % 3 == 1:
            body = body[:rng.randrange(len(body))]
        else:
            body += bytes(rng.randrange(256) for _ in range(rng.randint(1, 3)))
        refused += same(bytes(body))[0] == "refused"
    assert refused > 500


def test_other_records_and_topics_give_the_same_outcome():
    for value in (None, b"", b"not avro", encode("citybus.insurance.RetirementRequested", retirement()),
                  encode(CONTRIBUTION, contribution(city="442000")), encode(CONTRIBUTION, contribution(city="110000"))):
        same(value)
    same(encode(CONTRIBUTION, contribution(city="442000")), "city.442000.insurance.contributions")
    same(encode("citybus.insurance.RetirementRequested", retirement()), "city.440300.insurance.retirements")
