"""A consumer's offsets committed at a pace instead of after every batch.

A loop that commits after each batch sends one OffsetCommit per batch: the orchestrator at 200
migrations per second runs ~180 batches a second, each commit a request its client writes and
the broker appends to `__consumer_offsets`, and a consume loop that awaits it waits a round
trip before it fetches again. `PacedCommits` keeps the offsets of the batches that are done and
commits them at most every `interval_s` (Kafka Streams' commit.interval.ms; 100 ms is its value
under exactly-once), and whenever the loop asks (idle, partitions revoked, stop).

Committing later never skips an event: a crash replays from the last commit, which is what every
consumer here is built for (at least once, idempotent handlers); it only replays a little more.
A commit the group refuses (the partitions moved at a rebalance) is logged, not raised: their
new owner replays from the last commit, which is just as harmless.
"""
from __future__ import annotations

import logging
import math
import time
from collections.abc import Awaitable, Callable, Mapping

from aiokafka import TopicPartition
from aiokafka.errors import CommitFailedError, IllegalStateError

__all__ = ["PacedCommits", "COMMIT_INTERVAL_S"]

log = logging.getLogger(__name__)

COMMIT_INTERVAL_S = 0.1

Commit = Callable[[dict[TopicPartition, int]], Awaitable[None]]


class PacedCommits:
    """`done(offsets)` after each batch (the next offset to read per partition, in order);
    `commit` is called with everything done since the last call."""

    def __init__(self, commit: Commit, interval_s: float = COMMIT_INTERVAL_S,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._commit = commit
        self.interval_s = interval_s
        self._clock = clock
        self._pending: dict[TopicPartition, int] = {}
        self._last = -math.inf
        self.commits = 0

    @property
    def pending(self) -> dict[TopicPartition, int]:
        """Offsets done and not committed yet."""
        return dict(self._pending)

    async def done(self, offsets: Mapping[TopicPartition, int]) -> None:
        """A batch is done up to `offsets`: committed now if the last commit is `interval_s` old,
        else with the next one."""
        self._pending.update(offsets)
        await self.flush_if_due()

    async def flush_if_due(self) -> None:
        if self._pending and self._clock() - self._last >= self.interval_s:
            await self.flush()

    async def flush(self) -> None:
        """Commit whatever is done, now."""
        if not self._pending:
            return
        offsets, self._pending = self._pending, {}
        self._last = self._clock()
        self.commits += 1
        try:
            await self._commit(offsets)
        except (CommitFailedError, IllegalStateError) as exc:
            log.warning("commit refused (%s); the partitions' new owner replays from the last commit", exc)
