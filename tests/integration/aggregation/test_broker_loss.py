"""The aggregation worker on three brokers, one of them SIGKILLed mid-stream: partition leaders
and maybe the group's coordinator move; the worker carries on and no event is lost or counted twice."""
from __future__ import annotations

import asyncio
from pathlib import Path

from citybus.catalog import default_catalog
from citybus.kafka.local import LocalKafka
from citybus.kafka.offsets import group_lag
from citybus.kafka.topics import apply_topics
from citybus.simulate import contribution_history, publish_history

from tests.unit.domain.contributions.reference import reference_figures

from .support import GROUP, Expected, Worker, check_http, latest_summaries, wait_caught_up, watched_topics


async def test_a_broker_lost_mid_stream_loses_and_doubles_nothing(cluster3_of_its_own: LocalKafka,
                                                                  tmp_path: Path) -> None:
    cluster = cluster3_of_its_own
    bootstrap = cluster.running().bootstrap
    await apply_topics(bootstrap, default_catalog())
    worker = Worker(bootstrap, tmp_path / "worker").start()
    try:
        await worker.wait_ready(timeout=120)
        expected = Expected()
        counts = await publish_history(bootstrap, expected.add(contribution_history(600, seed=13,
                                                                                     first_person=300_000)))
        total = sum(counts.values())
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 120
        while (lag := await group_lag(bootstrap, GROUP, watched_topics())) > total * 2 // 3:
            assert loop.time() < deadline, f"no progress: lag {lag}"
            await asyncio.sleep(0.2)
        cluster.kill_node(0)  # its partitions elect new leaders among the two left (min.insync 2)
        print(f"\nbroker 0 killed with {lag} of {total} events left")
        # events to consume after the loss by construction, however fast the worker: more published now
        await publish_history(bootstrap, expected.add(contribution_history(200, seed=14, first_person=310_000)))
        await wait_caught_up(bootstrap, timeout=300, workers=[worker])
        assert await check_http([worker.url], expected) == len(expected.persons()) + len(expected.requests)
        latest = await latest_summaries(bootstrap)  # and what went out on the bus says the same
        for rid in expected.persons():
            for scheme, want in reference_figures(expected.events[rid])["schemes"].items():
                got = latest[(rid, scheme)]
                assert (got["total_months"], got["months_by_city"], got["duplicate_months"]) == (
                    want["total_months"], want["months_by_city"], want["duplicate_months"]), (rid, scheme)
    finally:
        worker.stop()
