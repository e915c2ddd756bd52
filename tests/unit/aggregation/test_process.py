"""The service's batch step against real partition stores (RocksDB in a temp dir) and a list for
the producer: what is sent, what is stored, that a batch is answered once per person, that a
replay changes nothing, and where misrouted, bad and index records go."""
from __future__ import annotations

import dataclasses
import json
from decimal import Decimal

import pytest
from aiokafka.structs import ConsumerRecord

from citybus.aggregation.outputs import STATEMENTS_TOPIC, SUMMARIES_TOPIC
from citybus.aggregation.process import BY_PERSON_TOPIC, CLAIMS_TOPIC, INDEX_TOPIC, LEDGER, ORIGIN_HEADER, STATEMENT
from citybus.aggregation.service import source_topics
from citybus.bus import DEADLETTER_TOPIC
from citybus.catalog import default_catalog
from citybus.codec import decode, encode
from citybus.simulate import WORKED_EXAMPLE_ID, WORKED_EXAMPLE_REQUEST
from citybus.simulate.contributions import bad_events, worked_example
from citybus.streams.batch import partition_of
from tests.unit.aggregation.harness import PARTITIONS, as_records, record


def test_sources_are_every_citys_contributions_and_retirements():
    topics = source_topics(default_catalog())
    assert len(topics) == 12 and "city.442000.insurance.retirements" in topics


async def test_one_summary_per_batch_one_state_write_per_person_and_the_request_claimed_then_stated(harness):
    batch = await harness.run(as_records(worked_example()))
    topics = harness.topics()
    assert topics.count(SUMMARIES_TOPIC) == 1 and topics.count(CLAIMS_TOPIC) == 1 and STATEMENTS_TOPIC not in topics
    assert harness.ledger(WORKED_EXAMPLE_ID).summary("PENSION").total_months == 171
    partition = partition_of(WORKED_EXAMPLE_ID.encode(), PARTITIONS)
    assert list(batch.state) == [partition] and list(batch.state[partition]) == [LEDGER + WORKED_EXAMPLE_ID.encode()]
    (claim,) = harness.of_topic(CLAIMS_TOPIC)
    assert claim[1] == WORKED_EXAMPLE_REQUEST.encode()
    assert claim[4] == partition_of(WORKED_EXAMPLE_REQUEST.encode(), PARTITIONS)  # where the id is claimed
    await harness.settle()
    topics = harness.topics()
    assert topics.count(STATEMENTS_TOPIC) == 1 and topics.count(INDEX_TOPIC) == 1
    (index,) = [s for s in harness.sent if s[0] == INDEX_TOPIC]
    assert json.loads(index[2])["request_id"] == WORKED_EXAMPLE_REQUEST
    assert index[4] == partition_of(WORKED_EXAMPLE_REQUEST.encode(), PARTITIONS)  # where /retirements looks


async def test_a_replayed_batch_sends_and_changes_nothing(harness):
    records = as_records(worked_example())
    await harness.run_through(records)
    harness.sent.clear()
    harness.aggregator.forget()  # as after a restart: state from the store
    batch = await harness.run(records)
    assert harness.sent == [] and batch.state == {}
    assert harness.ledger(WORKED_EXAMPLE_ID).summary("PENSION").total_months == 171


async def test_state_lost_from_the_store_is_made_again_by_the_replay(harness):
    records = as_records(worked_example())
    await harness.run(records)
    harness.sent.clear()
    harness.stores.wipe(partition_of(WORKED_EXAMPLE_ID.encode(), PARTITIONS))
    harness.stores.open(partition_of(WORKED_EXAMPLE_ID.encode(), PARTITIONS))
    harness.aggregator.forget()
    await harness.run(records)
    assert SUMMARIES_TOPIC in harness.topics()  # a real change again, so published again
    assert harness.ledger(WORKED_EXAMPLE_ID).summary("PENSION").total_months == 171


async def test_bad_events_are_dead_lettered_with_their_bytes_and_the_rest_is_applied(harness):
    good = worked_example()
    bad = list(bad_events(1, good, []))
    records = as_records(good + bad)
    first = as_records(worked_example()[:1])[0]
    wrong_key = record(first.topic, b"110101199001011237", first.value, first.headers, 99)
    await harness.run(records + [wrong_key])
    dead = [decode(s[2], "citybus.bus.RejectedEvent")[1] for s in harness.sent if s[0] == DEADLETTER_TOPIC]
    assert [d["reason_code"] for d in dead] == [e.reason_code for e in bad[:-1]] + ["WRONG_KEY", "REVISION_CONFLICT"]
    assert [d["value"] for d in dead][:len(bad) - 1] == [e.raw for e in bad[:-1]]
    assert harness.ledger(WORKED_EXAMPLE_ID).summary("PENSION").total_months == 171


async def test_an_event_in_the_wrong_partition_is_repartitioned_untouched_then_applied(harness):
    records = [r for r in as_records(worked_example()) if "contributions" in r.topic]
    home = partition_of(WORKED_EXAMPLE_ID.encode(), PARTITIONS)
    elsewhere = [record(r.topic, r.key, r.value, r.headers, r.offset, (home + 1) % PARTITIONS) for r in records]
    batch = await harness.run(elsewhere)
    assert batch.state == {} and set(harness.topics()) == {BY_PERSON_TOPIC}
    forwarded = [s for s in harness.sent if s[0] == BY_PERSON_TOPIC]
    assert [(s[1], s[2], s[4]) for s in forwarded] == [(r.key, r.value, home) for r in records]
    origins = [dict(s[3])[ORIGIN_HEADER] for s in forwarded]
    assert origins == [f"{r.topic}/{(home + 1) % PARTITIONS}/{r.offset}/{r.timestamp}".encode() for r in records]
    harness.sent.clear()
    back = [record(BY_PERSON_TOPIC, key, value, headers, i, partition) for i, (_, key, value, headers, partition)
            in enumerate(forwarded)]
    await harness.run(back)
    assert BY_PERSON_TOPIC not in harness.topics()  # not forwarded again
    assert harness.ledger(WORKED_EXAMPLE_ID).summary("PENSION").total_months == 171


async def test_a_repartitioned_event_that_is_refused_names_where_it_was_published(harness):
    (good,) = as_records(worked_example()[:1])
    headers = [*good.headers, (ORIGIN_HEADER, b"city.440300.insurance.contributions/4/1234")]  # an older forward
    bad_value = b"\xc3\x01" + b"\x00" * 8 + b"\xff\xff"  # the single-object marker, an unknown fingerprint
    await harness.run([record(BY_PERSON_TOPIC, good.key, bad_value, headers, 7)])
    (dead,) = [decode(s[2], "citybus.bus.RejectedEvent")[1] for s in harness.sent if s[0] == DEADLETTER_TOPIC]
    assert (dead["source_topic"], dead["partition"], dead["offset"]) == ("city.440300.insurance.contributions", 4, 1234)
    assert dead["value"] == bad_value and dead["reason_code"] == "UNKNOWN_SCHEMA"
    assert ORIGIN_HEADER not in dead["headers"]


async def test_the_statement_index_keeps_the_latest_revision(harness):
    key = b"RR-1"
    p = partition_of(key, PARTITIONS)

    def view(revision: int) -> bytes:
        return json.dumps({"request_id": "RR-1", "revision": revision}).encode()

    await harness.run([record(INDEX_TOPIC, key, view(2), (), 0), record(INDEX_TOPIC, key, view(1), (), 1)])
    assert json.loads(harness.stores[p].get(STATEMENT + key))["revision"] == 2
    await harness.run([record(INDEX_TOPIC, key, view(1), (), 2)])  # redelivered older revision, later batch
    assert json.loads(harness.stores[p].get(STATEMENT + key))["revision"] == 2
    await harness.run([record(INDEX_TOPIC, key, view(3), (), 3)])
    assert json.loads(harness.stores[p].get(STATEMENT + key))["revision"] == 3
    assert harness.sent == []


@pytest.mark.parametrize("origin", [
    pytest.param(None, id="no-origin-header"),
    pytest.param(b"city.440300.insurance.contributions", id="no-partition-or-offset"),
    pytest.param(b"city.440300.insurance.contributions/x/1", id="partition-not-a-number"),
    pytest.param(b"/4/1234", id="no-topic"),
    pytest.param(b"\xff\xfe/4/1", id="not-utf-8"),
])
async def test_a_repartitioned_event_without_a_valid_origin_is_dead_lettered_as_undecodable(harness, origin):
    """Nothing says where it was published: it cannot be applied as anyone's, nor named in a dead letter
    by its origin; it is dead-lettered as it arrived, and a good event of the same batch is applied."""
    first, second = as_records(worked_example()[:2])
    headers = [*first.headers] + ([(ORIGIN_HEADER, origin)] if origin is not None else [])
    forwarded = record(BY_PERSON_TOPIC, first.key, first.value, headers, 7)
    await harness.run([forwarded, second])
    (dead,) = harness.dead_letters()
    assert dead["reason_code"] == "UNDECODABLE" and ORIGIN_HEADER in dead["reason"]
    assert (dead["source_topic"], dead["offset"], dead["value"]) == (BY_PERSON_TOPIC, 7, first.value)
    assert harness.ledger(WORKED_EXAMPLE_ID).summary("PENSION").total_months == 1  # the second event only


def index_record(key: bytes | None, value: bytes | None, offset: int) -> ConsumerRecord:
    return ConsumerRecord(INDEX_TOPIC, partition_of(b"RR-1", PARTITIONS), offset, 0, 0, key, value, None, 4,
                          len(value or b""), ())


@pytest.mark.parametrize(("key", "value", "names"), [
    pytest.param(b"RR-1", b'{"request_id": "RR-1", "revision": ', "JSON", id="truncated-json"),
    pytest.param(b"RR-1", b"\xc3\x01\x00\x00", "JSON", id="avro-bytes"),
    pytest.param(b"RR-1", None, "JSON", id="tombstone"),
    pytest.param(b"RR-1", b'{"request_id": "RR-1"}', "revision", id="no-revision"),
    pytest.param(b"RR-1", b'{"request_id": "RR-1", "revision": "2"}', "revision", id="revision-a-string"),
    pytest.param(b"RR-1", b'[2]', "revision", id="not-an-object"),
    pytest.param(None, b'{"request_id": "RR-1", "revision": 2}', "key", id="no-key"),
])
async def test_an_unreadable_statement_index_record_is_dead_lettered_and_the_others_are_stored(
        harness, key, value, names):
    def view(revision: int) -> bytes:
        return json.dumps({"request_id": "RR-1", "revision": revision}).encode()

    bad = index_record(key, value, 1)
    await harness.run([index_record(b"RR-1", view(1), 0), bad, index_record(b"RR-1", view(2), 2)])
    (dead,) = harness.dead_letters()
    assert dead["reason_code"] == "UNDECODABLE" and names in dead["reason"]
    assert (dead["source_topic"], dead["offset"], dead["key"], dead["value"]) == (INDEX_TOPIC, 1, key, value)
    stored = harness.stores[partition_of(b"RR-1", PARTITIONS)].get(STATEMENT + b"RR-1")
    assert json.loads(stored)["revision"] == 2
    assert harness.aggregator.rejected == 1


@pytest.mark.parametrize("month", [
    pytest.param("2010-02\n", id="a-final-newline"),  # the event's recorded_at is in 2010-03
    pytest.param("1\u0669\u0669\u0665-01", id="arabic-indic-digits"),  # int() reads it as 1995
])
async def test_a_month_that_is_not_yyyy_mm_is_dead_lettered_not_counted(harness, month):
    """contributions.md: `month` is a string `YYYY-MM`; a look-alike is INVALID_FIELD, not a month."""
    (good,) = as_records(worked_example()[:1])
    _, fields = decode(good.value, "citybus.insurance.ContributionRecorded")
    bad_value = encode("citybus.insurance.ContributionRecorded", {**fields, "record_id": "LOOKALIKE", "month": month})
    await harness.run([good, record(good.topic, good.key, bad_value, good.headers, 1)])
    (dead,) = harness.dead_letters()
    assert (dead["reason_code"], dead["value"]) == ("INVALID_FIELD", bad_value)
    assert "month" in dead["reason"] and "YYYY-MM" in dead["reason"]
    assert harness.ledger(WORKED_EXAMPLE_ID).summary("PENSION").total_months == 1


async def test_a_statement_beyond_decimal_14_2_is_dead_lettered_and_the_batch_goes_on(harness):
    """Valid records whose sum does not fit the statement's decimal(14,2): the request is dead-lettered
    with its bytes (the batch used to raise, and the worker stopped on it at every restart)."""
    events = worked_example()
    contributions = [e for e in events if e.full_name == "citybus.insurance.ContributionRecorded"]
    huge = [dataclasses.replace(e, record={**e.record, "employee_amount": Decimal("999999999999.99")})
            for e in contributions if e.city == "442000"]
    requests = [e for e in events if e.full_name != "citybus.insurance.ContributionRecorded"]
    records = as_records([e for e in contributions if e.city != "442000"] + huge + requests)
    await harness.run_through(records)
    (dead,) = harness.dead_letters()
    assert dead["reason_code"] == "INVALID_FIELD" and "individual_account" in dead["reason"]
    assert dead["value"] == records[-1].value and "retirements" in dead["source_topic"]
    assert STATEMENTS_TOPIC not in harness.topics() and SUMMARIES_TOPIC in harness.topics()
