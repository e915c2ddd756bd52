"""The aggregation worker's state directory gone wrong, on the real broker with a real child process:
corrupt stores, a store another process holds, two workers on one directory. A worker must either
carry on with its state restored or stop with a clear error; never own partitions it does not process."""
from __future__ import annotations

import asyncio
import subprocess
from collections.abc import Callable

from citybus.simulate import contribution_history, publish_history
from citybus.streams.store import PartitionStore

from .support import Expected, Worker, check_http, wait_caught_up

PARTITIONS = 6


def _exit_code(worker: Worker, timeout: float = 90.0) -> int:
    assert worker.proc is not None
    try:
        return worker.proc.wait(timeout)
    except subprocess.TimeoutExpired:
        raise AssertionError(f"the worker still runs after {timeout:.0f}s:\n{worker.tail()}") from None


def _flat(log: str) -> str:
    """The log with its lines joined (the error line is wrapped to the terminal's width)."""
    return " ".join(log.split())


async def test_a_worker_with_corrupt_stores_restores_them_from_the_changelog(bus: str,
                                                                            workers: Callable[..., Worker]) -> None:
    expected = Expected()
    await publish_history(bus, expected.add(contribution_history(120, seed=41, first_person=410_000)))
    first = workers("w1")
    await first.wait_ready()
    await wait_caught_up(bus, workers=[first])
    first.stop()
    stores = first.data_dir / "aggregation"
    for partition in range(PARTITIONS):  # RocksDB refuses every one: "Corruption: CURRENT file corrupted"
        (stores / f"partition-{partition}" / "CURRENT").write_text("garbage\n")

    again = workers("w1")
    await again.wait_ready()
    assert await check_http([again.url], expected) == len(expected.persons()) + len(expected.requests)
    assert "is corrupt" in again.log_path.read_text()


async def test_a_worker_that_cannot_open_a_store_stops_with_a_clear_error(bus: str,
                                                                         workers: Callable[..., Worker]) -> None:
    first = workers("w1")
    await first.wait_ready()
    first.stop()
    holder = PartitionStore(first.data_dir / "aggregation" / "partition-0")  # e.g. an operator's tool has it open
    try:
        again = workers("w1")
        assert _exit_code(again) != 0
        log = _flat(again.log_path.read_text())
        assert "error: partitions could not be restored" in log and "partition-0/LOCK" in log, log[-2000:]
    finally:
        holder.close()


async def test_a_second_worker_on_the_same_data_directory_is_refused(bus: str,
                                                                    workers: Callable[..., Worker]) -> None:
    first = workers("w1")
    await first.wait_ready()
    second = workers("w1")
    assert _exit_code(second) == 2
    assert first.proc is not None
    assert f"is in use by another worker (pid {first.proc.pid})" in _flat(second.log_path.read_text())
    await asyncio.sleep(1)
    assert first.proc.poll() is None, first.tail()
