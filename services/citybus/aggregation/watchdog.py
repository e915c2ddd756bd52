"""Mends Faust 0.15.3 partitions that stop committing (and sometimes stop being read).

Faust commits a partition only up to the first gap in its acked offsets. After some
rebalance sequences (a worker joining, leaving, the app's own internal topics appearing)
offsets right after the committed one were seen never to be delivered again: the acked
offsets start above `committed + 1`, or nothing is acked at all though the log has more,
and the partition's lag never reaches 0 (known class of issues: faust-streaming/faust#318,
robinhood/faust#681). This timer looks at every assigned source partition; when one has
events beyond its committed offset and has made no progress at all (same committed offset,
same read offset, same acked offsets) for `looks` looks in a row, it seeks the partition
back to its committed offset. The events from there are delivered again and applied again,
which changes nothing for events already applied (the ledger ignores what it has seen).
It only ever re-reads; it never commits.
"""
from __future__ import annotations

import logging
from typing import Any

__all__ = ["install_commit_watchdog"]

log = logging.getLogger(__name__)


def progress_of(consumer: Any, tp: Any) -> tuple | None:
    """What moves when a partition makes progress; None when it has nothing to commit."""
    committed = consumer._committed_offset.get(tp)  # noqa: SLF001 - see the module doc
    acked = consumer._acked.get(tp) or []  # noqa: SLF001
    if committed is None:
        return None
    return committed, consumer._read_offset.get(tp), len(acked), min(acked) if acked else None  # noqa: SLF001


def install_commit_watchdog(app: Any, topics: set[str], interval: float = 5.0, looks: int = 3) -> None:
    still: dict[Any, tuple[tuple, int]] = {}

    @app.timer(interval=interval, name="citybus.aggregation.commit_watchdog")
    async def mend_stalled_partitions() -> None:
        consumer = app.consumer
        assigned = [tp for tp in consumer.assignment() if tp.topic in topics]
        for tp in set(still) - set(assigned):
            del still[tp]
        behind = []
        for tp in assigned:
            state = progress_of(consumer, tp)
            if state is None:
                still.pop(tp, None)
                continue
            before, count = still.get(tp, (None, 0))
            count = count + 1 if state == before else 1
            still[tp] = (state, count)
            if count >= looks:
                behind.append(tp)
        if not behind:
            return
        ends = await consumer.highwaters(*behind)
        for tp in behind:
            state, _ = still.pop(tp)
            committed = state[0]
            if (ends.get(tp) or 0) > committed:
                log.warning("%s made no progress in %d looks (committed, read, acked, first acked = %s) "
                            "with events up to %s: re-reading from %d", tp, looks, state, ends.get(tp), committed)
                await consumer.seek(tp, committed)
