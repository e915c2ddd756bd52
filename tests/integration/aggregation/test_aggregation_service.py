"""The aggregation service as a real process on a real broker, checked against the plain reference.

The tests share the session's broker and the consumer group citybus-aggregation; each loads
its own persons (a `first_person` range of the simulator), so each checks what it published
while the workers also carry everything earlier tests left in the group's tables.
"""
from __future__ import annotations

import asyncio
import time

import pytest

from citybus.codec import decode
from citybus.kafka.offsets import group_lag
from citybus.simulate import WORKED_EXAMPLE_ID, WORKED_EXAMPLE_REQUEST, contribution_history, publish_history

from .support import Expected, check_http, read_topic, wait_caught_up, watched_topics

pytestmark = pytest.mark.integration


async def test_generated_history_matches_the_reference(bus, workers):
    worker = workers("w1")
    expected = Expected()
    started = time.perf_counter()
    counts = await publish_history(bus, expected.add(contribution_history(1000, seed=11)))
    published = sum(counts.values())
    await worker.wait_ready()
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
    from tests.unit.domain.contributions.reference import reference_figures

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
