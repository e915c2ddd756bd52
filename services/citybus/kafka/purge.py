"""Deleting what a group has processed from the service's own hop topics (what Kafka Streams does
for its repartition topics): a record forwarded from one partition to another is dead once the
group has committed past it. Those topics keep every record until then (retention -1), however
long the workers are down, and are purged behind the commits instead of by age."""
from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Collection, Mapping

from aiokafka import TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, RecordsToDelete
from aiokafka.errors import KafkaError

from citybus.kafka.closing import stop_admin

__all__ = ["HopPurger", "PURGE_INTERVAL_S"]

log = logging.getLogger(__name__)
PURGE_INTERVAL_S = 30.0


class HopPurger:
    """`committed(offsets)` after each commit of the group; every `interval_s` at most, the records
    of `topics` before the committed offsets are deleted (DeleteRecords), in the background. A
    failed deletion is logged and tried again with the next one."""

    def __init__(self, bootstrap: str, topics: Collection[str], interval_s: float = PURGE_INTERVAL_S,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.bootstrap = bootstrap
        self.topics = frozenset(topics)
        self.interval_s = interval_s
        self._clock = clock
        self._due: dict[TopicPartition, int] = {}
        self._last = clock()
        self._task: asyncio.Task | None = None
        self._admin: AIOKafkaAdminClient | None = None
        self.purges = 0

    def committed(self, offsets: Mapping[TopicPartition, int]) -> None:
        for tp, offset in offsets.items():
            if tp.topic in self.topics and offset > self._due.get(tp, 0):
                self._due[tp] = offset
        if self._due and self._clock() - self._last >= self.interval_s and (self._task is None or self._task.done()):
            self._last = self._clock()
            due, self._due = self._due, {}
            self._task = asyncio.create_task(self._purge(due))

    @property
    def pending(self) -> dict[TopicPartition, int]:
        """Offsets to delete before, not deleted yet (the next purge's)."""
        return dict(self._due)

    async def settled(self) -> None:
        """Until the purge under way, if any, is over."""
        if self._task is not None:
            await asyncio.gather(self._task, return_exceptions=True)

    async def _purge(self, due: dict[TopicPartition, int]) -> None:
        try:
            if self._admin is None:
                self._admin = AIOKafkaAdminClient(bootstrap_servers=self.bootstrap, client_id="citybus-purge")
                await self._admin.start()
            await self._admin.delete_records({tp: RecordsToDelete(offset) for tp, offset in due.items()},
                                             timeout_ms=10_000)
            self.purges += 1
        except (KafkaError, OSError, asyncio.TimeoutError) as exc:
            log.warning("purging processed records of %s failed (%r); tried again with the next commit",
                        ", ".join(sorted(self.topics)), exc)
            for tp, offset in due.items():
                self._due[tp] = max(offset, self._due.get(tp, 0))

    async def close(self) -> None:
        if self._task is not None and not self._task.done():
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        if self._admin is not None:
            admin, self._admin = self._admin, None
            await stop_admin(admin)
