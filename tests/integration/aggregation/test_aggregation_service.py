"""The aggregation service as a real process on a real broker, checked against the plain reference.

The tests share the session's broker and the consumer group citybus-aggregation; each loads
its own persons (a `first_person` range of the simulator), so each checks what it published
while the workers also carry everything earlier tests left in the group's tables.
"""
from __future__ import annotations

import asyncio
import datetime as dt
import time
import uuid
from decimal import Decimal

import aiohttp
import pytest
from aiokafka import AIOKafkaProducer

from citybus.codec import decode
from citybus.domain.contributions import MAX_ID_BYTES, MAX_RECORDS_PER_RESIDENT
from citybus.domain.ids import month_index
from citybus.kafka.offsets import group_lag
from citybus.simulate import WORKED_EXAMPLE_ID, WORKED_EXAMPLE_REQUEST, contribution_history, publish_history
from citybus.simulate.contributions import (
    CONTRIBUTION, RETIREMENT, SimulatedEvent, contribution_record, resident_id,
)

from tests.unit.domain.contributions.reference import reference_figures

from .support import (
    Expected, assert_summaries_match, check_http, read_topic, status, topic_ends, wait_caught_up, wait_lag_at_most,
    watched_topics,
)

pytestmark = pytest.mark.integration


async def test_generated_history_matches_the_reference(bus, workers):
    worker = workers("w1")
    expected = Expected()
    await worker.wait_ready()
    started = time.perf_counter()
    counts = await publish_history(bus, expected.add(contribution_history(1000, seed=11)))
    published = sum(counts.values())
    await wait_caught_up(bus, workers=[worker])
    took = time.perf_counter() - started
    print(f"\n{published} events of {len(expected.persons())} persons published and aggregated in {took:.1f}s")
    assert len(expected.persons()) >= 1000 and len(expected.requests) >= 50
    assert await check_http([worker.url], expected) == len(expected.persons()) + len(expected.requests)

    # the worked example, exactly as contributions.md states it
    assert WORKED_EXAMPLE_ID in expected.events
    # the last summary published per (person, scheme) is the one HTTP shows
    latest = {}
    for message in await read_topic(bus, "bus.insurance.summaries"):
        _, record = decode(message.value, "citybus.insurance.ContributionSummary")
        latest[(record["resident_id"], record["scheme"])] = record
    for rid in expected.persons():
        for scheme, want in reference_figures(expected.events[rid])["schemes"].items():
            got = latest[(rid, scheme)]
            assert (got["total_months"], got["months_by_city"], got["last_city"], got["duplicate_months"],
                    len(got["refunds"])) == (want["total_months"], want["months_by_city"], want["last_city"],
                                             want["duplicate_months"], len(want["refunds"])), (rid, scheme)
    statements = {}
    for message in await read_topic(bus, "bus.insurance.retirement-statements"):
        _, record = decode(message.value, "citybus.insurance.RetirementStatement")
        previous = statements.get(record["request_id"])
        assert previous is None or record["revision"] == previous["revision"] + 1  # re-issued one by one
        statements[record["request_id"]] = record
    example = statements[WORKED_EXAMPLE_REQUEST]["pension"]
    assert (example["total_months"], example["payable_city"], example["eligible"]) == (171, "440300", False)
    assert [(t["from_city"], str(t["pooled_fund"]), str(t["individual_account"])) for t in example["transfers"]] == [
        ("442000", "28080.00", "18720.00")]


async def test_killed_worker_restarts_without_loss_or_double_counting(bus, workers):
    expected = Expected()  # everything on the topics before the worker starts: it is killed mid-way through
    counts = await publish_history(bus, expected.add(contribution_history(1000, seed=12, first_person=200_000)))
    total = sum(counts.values())
    worker = workers("w1")
    await worker.wait_ready()
    lag = await wait_lag_at_most(bus, total // 2)
    worker.kill()  # SIGKILL halfway: no shutdown, no last commit, no flush
    print(f"\nkilled with {lag} of {total} events left")
    # events left for the restart by construction, however fast it was: more published while it is dead
    await publish_history(bus, expected.add(contribution_history(200, seed=16, first_person=250_000)))

    again = workers("w1")  # same data dir: its RocksDB state is ahead of or behind the committed offsets
    await again.wait_ready()
    await wait_caught_up(bus, workers=[again])
    await check_http([again.url], expected)
    await assert_summaries_match(bus, expected)


async def test_two_workers_share_the_partitions_and_answer_for_every_person(bus, workers):
    # the second worker joins while the first is busy with the load: a rebalance mid-stream, the
    # newcomer restoring its partitions from the changelog while events keep arriving
    first = workers("a", "--max-records", "100")  # small batches: still busy when the second one has joined
    await first.wait_ready()
    expected = Expected()
    joined = asyncio.Event()

    async def publish_until_joined() -> int:
        """Loads of 200 persons one after the other until the second worker has joined: events
        arrive before, while and after it joins, by construction rather than by speed."""
        loads = 0
        while loads < 2 or not joined.is_set():
            assert loads < 250, "the second worker did not join"  # persons 300_000.. stay below 350_000
            history = contribution_history(200, seed=13 + loads, first_person=300_000 + 200 * loads)
            await publish_history(bus, expected.add(history))
            loads += 1
        return loads

    publishing = asyncio.create_task(publish_until_joined())
    second = workers("b")
    await second.wait_ready()
    joined.set()
    print(f"\nsecond worker joined, lag {await group_lag(bus, 'citybus-aggregation', watched_topics())}; "
          f"{await publishing} loads published around it")
    # and events keep arriving once both share the partitions
    await publish_history(bus, expected.add(contribution_history(200, seed=15, first_person=350_000)))
    await wait_caught_up(bus, workers=[first, second])
    statuses = [await status(w) for w in (first, second)]
    assert all(s["partitions"] for s in statuses), statuses  # both own some partitions
    assert not set(statuses[0]["partitions"]) & set(statuses[1]["partitions"])
    # round robin both ways: every person and statement answered by each worker, owner or not
    await check_http([first.url, second.url], expected)
    await check_http([second.url, first.url], expected)
    for worker in (first, second):
        assert "Traceback" not in worker.log_path.read_text(errors="replace"), worker.tail()


async def test_bad_bytes_go_to_the_deadletters_and_good_events_around_them_count(bus, workers):
    worker = workers("w1")
    expected = Expected()
    await worker.wait_ready()
    # the bad events are the same bytes every run (seed 14): on a reused cluster an earlier run's dead
    # letters would match them, so only what this run's worker wrote is read
    before = await topic_ends(bus, "bus.deadletter")
    await publish_history(bus, expected.add(contribution_history(300, seed=14, first_person=400_000, bad=True)))
    assert {e.reason_code for e in expected.bad} == {
        "UNDECODABLE", "UNKNOWN_SCHEMA", "WRONG_TYPE", "INVALID_FIELD", "WRONG_CITY", "UNKNOWN_CITY",
        "REVISION_CONFLICT"}
    await wait_caught_up(bus, workers=[worker])
    letters = [decode(m.value, "citybus.bus.RejectedEvent")[1]
               for m in await read_topic(bus, "bus.deadletter", after=before)]
    # each bad event once, and nothing else: not dropped, not dead-lettered twice, no good event refused
    assert sorted((r["source_topic"], r["value"], r["reason_code"]) for r in letters) == sorted(
        (e.topic, e.raw, e.reason_code) for e in expected.bad)
    rejected = {(record["source_topic"], record["value"]): record for record in letters}
    for event in expected.bad:
        found = rejected.get((event.topic, event.raw))
        assert found is not None, f"{event.reason_code} on {event.topic} not dead-lettered"
        assert found["reason_code"] == event.reason_code, (found["reason_code"], found["reason"])
        assert found["service"] == "aggregation" and found["reason"]
        assert found["key"] == event.key.encode()
        # the original headers, read back from the fetched batch only for a dead letter
        assert (found["headers"]["ce_source"], found["headers"]["ce_type"]) == (
            f"/cities/{event.city}/simulator", event.full_name), found["headers"]
    await check_http([worker.url], expected)
    assert worker.proc.poll() is None


async def test_a_request_id_is_claimed_once_across_cities_and_residents(bus, workers):
    """contributions.md: request_id is unique. Two cities' requests for two residents under one id:
    the first published is stated and is what GET /retirements answers; the second is refused."""
    worker = workers("w1")
    await worker.wait_ready()
    request_id = f"R-{uuid.uuid4()}"  # this run's own (the cluster may be reused)
    first, second = (resident_id(900_000 + i, city) for i, city in enumerate(("440300", "310000")))
    requests = [SimulatedEvent(city, RETIREMENT, rid, {
        "request_id": request_id, "resident_id": rid, "city": city, "hukou_city": city,
        "retirement_date": dt.date(2030, 1, 1), "requested_at": 1_767_225_600_000})
        for city, rid in (("440300", first), ("310000", second))]
    before = await topic_ends(bus, "bus.deadletter")
    await publish_history(bus, requests[:1])
    await publish_history(bus, requests[1:])  # after the first is on the broker
    await wait_caught_up(bus, workers=[worker])
    (dead,) = [decode(m.value, "citybus.bus.RejectedEvent")[1]
               for m in await read_topic(bus, "bus.deadletter", after=before)]
    assert (dead["reason_code"], dead["key"], dead["source_topic"]) == (
        "REQUEST_CONFLICT", second.encode(), "city.310000.insurance.retirements")
    stated = [decode(m.value)[1] for m in await read_topic(bus, "bus.insurance.retirement-statements")]
    assert [s["resident_id"] for s in stated if s["request_id"] == request_id] == [first]
    async with aiohttp.ClientSession() as session, session.get(f"{worker.url}/retirements/{request_id}") as response:
        assert response.status == 200 and (await response.json())["resident_id"] == first


async def test_a_bad_record_near_the_brokers_size_limit_is_dead_lettered_whole(bus, workers):
    """A city's record the broker took at almost its 1 MB limit: its dead letter (the record plus the
    reason and coordinates) is larger than that, and bus.deadletter takes it (the worker used to fail
    to send it and stop, on every replay)."""
    worker = workers("w1")
    await worker.wait_ready()
    key = resident_id(950_000, "440300").encode()
    value = b"\xc3\x01" + uuid.uuid4().bytes * 65_525  # the single-object marker, then no known schema
    assert len(value) == 1_048_402  # what the broker takes in one record (1,048,588 per batch by default)
    before = await topic_ends(bus, "bus.deadletter")
    producer = AIOKafkaProducer(bootstrap_servers=bus, acks="all", max_request_size=2 * 1024 * 1024)
    await producer.start()
    try:
        await producer.send_and_wait("city.440300.insurance.contributions", value, key=key)
    finally:
        await producer.stop()
    await wait_caught_up(bus, workers=[worker])
    (dead,) = [decode(m.value, "citybus.bus.RejectedEvent")[1]
               for m in await read_topic(bus, "bus.deadletter", after=before) if m.key == key]
    assert (dead["reason_code"], dead["value"]) == ("UNKNOWN_SCHEMA", value)
    assert worker.proc.poll() is None, worker.tail()


async def test_records_beyond_a_residents_limit_are_dead_lettered_and_the_worker_goes_on(bus, workers):
    """A city repeating one month under ever new record_ids: each is one more refund in the resident's
    summary, which grew past what the broker takes and stopped the worker at every replay. Records
    beyond MAX_RECORDS_PER_RESIDENT are dead-lettered LIMIT_EXCEEDED; the summary stays sendable."""
    worker = workers("w1")
    await worker.wait_ready()
    rid = resident_id(960_000, "440300")
    total = MAX_RECORDS_PER_RESIDENT + 2_000  # with 64-byte record_ids, a summary above 1 MB
    month = month_index("2015-06")
    events = [SimulatedEvent("440300", CONTRIBUTION, rid, contribution_record(
        rid, "440300", f"{i:0{MAX_ID_BYTES}d}", month, "PENSION", "EMPLOYEE", Decimal("10000.00")))
        for i in range(total)]
    before = await topic_ends(bus, "bus.deadletter")
    await publish_history(bus, events)
    await wait_caught_up(bus, workers=[worker])
    dead = [decode(m.value, "citybus.bus.RejectedEvent")[1]
            for m in await read_topic(bus, "bus.deadletter", after=before) if m.key == rid.encode()]
    assert {d["reason_code"] for d in dead} == {"LIMIT_EXCEEDED"} and len(dead) == total - MAX_RECORDS_PER_RESIDENT
    summaries = [decode(m.value, "citybus.insurance.ContributionSummary")[1]
                 for m in await read_topic(bus, "bus.insurance.summaries") if m.key == rid.encode()]
    assert len(summaries[-1]["refunds"]) == MAX_RECORDS_PER_RESIDENT - 1
    assert worker.proc.poll() is None, worker.tail()
