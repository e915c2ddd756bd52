"""SIGTERM to an aggregation worker whose broker has just gone: it stops in bounded time, exit
code 0 and no traceback, its data directory released; the batches it could not commit are
replayed once the broker is back, and every figure comes out right (none lost, none counted twice)."""
from __future__ import annotations

import asyncio
from pathlib import Path

from citybus.catalog import default_catalog
from citybus.kafka.local import LocalKafka
from citybus.kafka.topics import apply_topics
from citybus.simulate import contribution_history, publish_history


from ..stopping import assert_clean, assert_unlocked, terminate
from .support import Expected, Worker, assert_summaries_match, check_http, wait_caught_up, wait_lag_at_most


async def test_sigterm_with_the_broker_gone_mid_stream_stops_cleanly_and_loses_nothing(
        broker_of_its_own: LocalKafka, tmp_path: Path) -> None:
    kafka = broker_of_its_own
    bootstrap = kafka.running().bootstrap
    await apply_topics(bootstrap, default_catalog())
    data_dir = tmp_path / "worker"
    first = Worker(bootstrap, data_dir).start()
    second = None
    try:
        await first.wait_ready(timeout=120)
        expected = Expected()
        counts = await publish_history(bootstrap, expected.add(contribution_history(1500, seed=21,
                                                                                     first_person=400_000)))
        total = sum(counts.values())
        lag = await wait_lag_at_most(bootstrap, total * 3 // 4, interval=0.1)
        kafka.kill_node(0)  # mid-stream: batches in flight, offsets not committed
        print(f"\nbroker killed with {lag} of {total} events left")
        await asyncio.sleep(1.0)
        assert first.proc is not None
        code = await asyncio.to_thread(terminate, first.proc, first.log_path)
        assert_clean(code, first.log_path)
        assert_unlocked(data_dir / "aggregation")

        await asyncio.to_thread(kafka.restart_node, 0)  # the same broker, its data kept
        second = Worker(bootstrap, data_dir).start()  # on the same state directory
        await second.wait_ready(timeout=120)
        await publish_history(bootstrap, expected.add(contribution_history(100, seed=22, first_person=410_000)))
        await wait_caught_up(bootstrap, timeout=300, workers=[second])
        assert await check_http([second.url], expected) == len(expected.persons()) + len(expected.requests)
        await assert_summaries_match(bootstrap, expected)
    finally:
        first.stop()
        if second is not None:
            second.stop()
