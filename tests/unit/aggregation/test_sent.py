"""What the aggregation writes, message by message: the cleared summary when a scheme's last
effective record goes away, the keys of the contract (bus.md, Topics), CloudEvents headers in
binary content mode (bus.md, Wire format), and dead letters that keep the original event whole."""
from __future__ import annotations

import dataclasses
import datetime as dt
import json

from citybus.aggregation.outputs import STATEMENTS_TOPIC, SUMMARIES_TOPIC
from citybus.aggregation.process import INDEX_TOPIC
from citybus.bus import DEADLETTER_TOPIC
from citybus.codec import decode, parse_cloudevent_headers
from citybus.simulate import WORKED_EXAMPLE_ID, WORKED_EXAMPLE_REQUEST
from citybus.simulate.contributions import CONTRIBUTION, SimulatedEvent, bad_events, worked_example
from tests.unit.aggregation.harness import as_records

SUMMARY = "citybus.insurance.ContributionSummary"


def medical(revision: int = 1, status: str = "ACTIVE") -> SimulatedEvent:
    """The worked example's person has no MEDICAL record but this one."""
    first = worked_example()[0]
    record = {**first.record, "scheme": "MEDICAL", "record_id": "P-MED-1", "revision": revision, "status": status}
    return SimulatedEvent(first.city, CONTRIBUTION, first.key, record)


async def test_the_last_effective_record_of_a_scheme_reversed_publishes_its_cleared_summary(harness):
    await harness.run_through(as_records([medical()]))
    (before,) = harness.of_topic(SUMMARIES_TOPIC)
    assert decode(before[2], SUMMARY)[1]["total_months"] == 1
    harness.sent.clear()
    await harness.run_through(as_records([medical(revision=2, status="REVERSED")], first_offset=1))
    (cleared,) = harness.of_topic(SUMMARIES_TOPIC)
    assert cleared[1] == WORKED_EXAMPLE_ID.encode()
    full_name, summary = decode(cleared[2], SUMMARY)
    assert full_name == SUMMARY
    assert isinstance(summary.pop("updated_at"), dt.datetime)
    assert summary == {"resident_id": WORKED_EXAMPLE_ID, "scheme": "MEDICAL", "total_months": 0,
                       "months_by_city": {}, "first_month": None, "last_month": None, "last_city": None,
                       "duplicate_months": 0, "refunds": []}
    assert not harness.ledger(WORKED_EXAMPLE_ID).has_effective_records()


async def test_summaries_and_statements_are_keyed_by_resident_id_and_index_messages_by_request_id(harness):
    await harness.run_through(as_records(worked_example()))
    summaries, statements = harness.of_topic(SUMMARIES_TOPIC), harness.of_topic(STATEMENTS_TOPIC)
    assert summaries and statements
    for _, key, value, _, _ in summaries + statements:
        assert key == WORKED_EXAMPLE_ID.encode() == decode(value)[1]["resident_id"].encode()
    (index,) = harness.of_topic(INDEX_TOPIC)
    assert index[1] == WORKED_EXAMPLE_REQUEST.encode() == json.loads(index[2])["request_id"].encode()


async def test_what_the_aggregation_writes_carries_cloudevents_binary_mode_headers(harness):
    good = worked_example()
    await harness.run_through(as_records(good + list(bad_events(1, good, []))))
    await harness.run_through(as_records([medical(), medical(revision=2, status="REVERSED")], first_offset=1000))
    contract = [s for s in harness.sent if s[0] in (SUMMARIES_TOPIC, STATEMENTS_TOPIC, DEADLETTER_TOPIC)]
    assert {s[0] for s in contract} == {SUMMARIES_TOPIC, STATEMENTS_TOPIC, DEADLETTER_TOPIC}
    ids = []
    for topic, _, value, headers, _ in contract:
        names = [name for name, _ in headers]
        assert sorted(names) == sorted(set(names)) == sorted(
            ["ce_specversion", "ce_id", "ce_source", "ce_type", "ce_time", "content-type"]), topic
        attributes = parse_cloudevent_headers(headers)  # what the CloudEvents SDK accepts
        assert attributes["specversion"] == "1.0"
        assert attributes["type"] == decode(value)[0]  # the Avro full name of the value record
        assert attributes["source"] == "/bus/aggregation"
        assert attributes["datacontenttype"] == "application/avro"
        assert attributes["time"].tzinfo is not None
        ids.append(attributes["id"])
    assert len(set(ids)) == len(ids)


async def test_a_dead_letter_keeps_the_original_key_value_and_headers(harness):
    good = worked_example()
    (original,) = as_records([good[0]])
    conflicting = {**good[0].record, "employee_amount": good[0].record["employee_amount"] + 1}
    (conflict,) = as_records([SimulatedEvent(good[0].city, CONTRIBUTION, good[0].key, conflicting)], first_offset=1)
    truncated = dataclasses.replace(original, offset=2, value=original.value[:-3])  # the city's headers, bad bytes
    await harness.run_through([original, conflict, truncated])
    letters = harness.of_topic(DEADLETTER_TOPIC)
    assert [decode(s[2])[1]["reason_code"] for s in letters] == ["UNDECODABLE", "REVISION_CONFLICT"]
    for (_, key, value, _, _), event in zip(letters, (truncated, conflict)):
        assert key == event.key  # bus.md: bus.deadletter is keyed by the original key
        dead = decode(value, "citybus.bus.RejectedEvent")[1]
        assert (dead["source_topic"], dead["partition"], dead["offset"]) == (event.topic, event.partition,
                                                                           event.offset)
        assert (dead["key"], dead["value"]) == (event.key, event.value)
        assert event.headers and dead["headers"] == {name: raw.decode() for name, raw in event.headers}
        assert dead["service"] == "aggregation" and dead["reason"]
