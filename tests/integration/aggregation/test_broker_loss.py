"""The aggregation worker on three brokers, one of them SIGKILLed mid-stream: partition leaders
and maybe the group's coordinator move; the worker carries on and no event is lost or counted twice."""
from __future__ import annotations

from pathlib import Path

from citybus.catalog import default_catalog
from citybus.kafka.local import LocalKafka
from citybus.kafka.topics import apply_topics
from citybus.simulate import contribution_history, publish_history


from .support import Expected, Worker, assert_summaries_match, check_http, wait_caught_up, wait_lag_at_most


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
        lag = await wait_lag_at_most(bootstrap, total * 2 // 3)
        cluster.kill_node(0)  # its partitions elect new leaders among the two left (min.insync 2)
        print(f"\nbroker 0 killed with {lag} of {total} events left")
        # events to consume after the loss by construction, however fast the worker: more published now
        await publish_history(bootstrap, expected.add(contribution_history(200, seed=14, first_person=310_000)))
        await wait_caught_up(bootstrap, timeout=300, workers=[worker])
        assert await check_http([worker.url], expected) == len(expected.persons()) + len(expected.requests)
        await assert_summaries_match(bootstrap, expected)  # and what went out on the bus says the same
    finally:
        worker.stop()
