"""Bad input on `city.<code>.insurance.retirements`, as real bytes through Aggregator.process: each is
dead-lettered with its reason code and untouched bytes, and the good events around it are applied
(bus.md, Bad input). REQUEST_CONFLICT is this service's own code (a request_id seen with other content)."""
from __future__ import annotations

import datetime as dt

import pytest

from citybus.aggregation.outputs import STATEMENTS_TOPIC
from citybus.codec import decode, encode
from citybus.codec.fast_reader import _varint
from citybus.codec.fast_writer import _zigzag
from citybus.simulate import WORKED_EXAMPLE_ID, WORKED_EXAMPLE_REQUEST
from citybus.simulate.contributions import CONTRIBUTION, RETIREMENT, SimulatedEvent, worked_example
from tests.unit.aggregation.harness import as_records

EXAMPLE = worked_example()
REQUEST = EXAMPLE[-1]  # the worked example's retirement request, in 442000
assert REQUEST.full_name == RETIREMENT
CITY, RID, GOOD = REQUEST.city, REQUEST.key, REQUEST.record
BODY = encode(RETIREMENT, GOOD)
WRONG_CHECK = RID[:17] + ("0" if RID[17] != "0" else "1")


def with_retirement_date_days(days: int) -> bytes:
    """BODY with its retirement_date (an Avro int after the four strings) replaced by `days`: a well
    formed body whose date no calendar holds."""
    at = 10  # after the single-object header
    for _ in range(4):  # request_id, resident_id, city, hukou_city: a zigzag length, then the UTF-8
        length, at = _varint(BODY, at)
        at += length
    _, end = _varint(BODY, at)
    return BODY[:at] + _zigzag(days) + BODY[end:]


def raw(value: bytes, key: str = RID) -> SimulatedEvent:
    return SimulatedEvent(CITY, RETIREMENT, key, raw=value)


BAD = [
    pytest.param(raw(BODY[:-3]), "UNDECODABLE", id="truncated"),
    pytest.param(raw(b"\x00\x01" + BODY[2:]), "UNDECODABLE", id="not-single-object"),
    pytest.param(raw(BODY[:2] + b"\xde\xad\xbe\xef\x00\x00\x00\x00" + BODY[10:]), "UNKNOWN_SCHEMA",
                 id="unknown-fingerprint"),
    pytest.param(raw(encode(CONTRIBUTION, EXAMPLE[0].record)), "WRONG_TYPE", id="a-contribution"),
    pytest.param(raw(encode(RETIREMENT, {**GOOD, "resident_id": WRONG_CHECK, "request_id": "BAD-1"}), WRONG_CHECK),
                 "INVALID_FIELD", id="resident-id-check-character"),
    pytest.param(raw(encode(RETIREMENT, {**GOOD, "request_id": ""})), "INVALID_FIELD", id="empty-request-id"),
    pytest.param(raw(encode(RETIREMENT, {**GOOD, "hukou_city": "999999", "request_id": "BAD-2"})),
                 "UNKNOWN_CITY", id="unknown-hukou-city"),
    pytest.param(raw(encode(RETIREMENT, {**GOOD, "city": "440300", "request_id": "BAD-3"})), "WRONG_CITY",
                 id="other-city-than-the-topic"),
    # a date beyond year 9999: the codec cannot make a date of it, so it is refused as a corrupt body
    pytest.param(raw(with_retirement_date_days(2**31 - 1)), "UNDECODABLE", id="retirement-date-out-of-range"),
]


@pytest.mark.parametrize(("bad", "reason_code"), BAD)
async def test_a_bad_retirement_request_is_dead_lettered_and_the_events_around_it_applied(harness, bad, reason_code):
    records = as_records([*EXAMPLE[:-1], bad, REQUEST])
    await harness.run_through(records)
    (dead,) = harness.dead_letters()
    assert dead["reason_code"] == reason_code and dead["reason"]
    assert (dead["source_topic"], dead["offset"], dead["value"]) == (REQUEST.topic, len(EXAMPLE) - 1, bad.raw)
    (statement,) = [decode(s[2])[1] for s in harness.of_topic(STATEMENTS_TOPIC)]
    assert (statement["request_id"], statement["pension"]["total_months"]) == (WORKED_EXAMPLE_REQUEST, 171)
    assert harness.ledger(WORKED_EXAMPLE_ID).summary("PENSION").total_months == 171


@pytest.mark.parametrize("same_batch", [True, False], ids=["same-batch", "later-batch"])
async def test_a_request_id_again_with_other_content_is_a_request_conflict_and_the_first_stands(
        harness, same_batch):
    other = SimulatedEvent(CITY, RETIREMENT, RID, {**GOOD, "hukou_city": "442000"})
    again = SimulatedEvent(CITY, RETIREMENT, RID, dict(GOOD))  # a redelivery: nothing to say
    if same_batch:
        await harness.run_through(as_records([*EXAMPLE, other, again]))
    else:
        await harness.run_through(as_records(EXAMPLE))
        await harness.run_through(as_records([other, again], first_offset=len(EXAMPLE)))
    (dead,) = harness.dead_letters()
    assert dead["reason_code"] == "REQUEST_CONFLICT" and WORKED_EXAMPLE_REQUEST in dead["reason"]
    assert (dead["offset"], dead["value"]) == (len(EXAMPLE), as_records([other])[0].value)
    (statement,) = [decode(s[2])[1] for s in harness.of_topic(STATEMENTS_TOPIC)]
    assert statement["hukou_city"] == GOOD["hukou_city"] and statement["revision"] == 1


def test_the_date_surgery_touches_the_date_only():
    days = (GOOD["retirement_date"] - dt.date(1970, 1, 1)).days
    assert with_retirement_date_days(days) == BODY
    moved = decode(with_retirement_date_days(days + 1))[1]
    assert moved["retirement_date"] == GOOD["retirement_date"] + dt.timedelta(days=1)
    assert {**moved, "retirement_date": GOOD["retirement_date"]} == decode(BODY)[1]
