"""When each group last committed on each partition, read from `__consumer_offsets`.

Kafka's admin API gives committed offsets but not when they were committed, and lag.md tells
STALL ("keeps committing, the offset does not move") from STOP ("no commit for longer than the
window") by the commits themselves. Like Burrow, `CommitWatch` reads the broker's own offsets
topic from its end: every OffsetCommit record (key versions 0 and 1: group, topic, partition;
value versions 0 to 4: offset, ..., commit timestamp) updates `last_commit_ms[(group, topic,
partition)]`. Group-metadata records (key version 2) and tombstones are skipped; a record it
cannot read is counted in `unreadable` and skipped, never fatal.
"""
from __future__ import annotations

import asyncio
import contextlib
import logging
import struct
import time
from collections.abc import Callable

from aiokafka import AIOKafkaConsumer, TopicPartition

from citybus.kafka.closing import stop_consumer

__all__ = ["CommitWatch", "OFFSETS_TOPIC", "parse_commit", "cancel_and_wait"]

log = logging.getLogger(__name__)

OFFSETS_TOPIC = "__consumer_offsets"
_I16, _I32, _I64 = struct.Struct(">h"), struct.Struct(">i"), struct.Struct(">q")


async def cancel_and_wait(task: asyncio.Task | None) -> None:
    """Cancel a background task and wait until it has ended."""
    if task is not None:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


def _string(data: bytes, at: int) -> tuple[str, int]:
    (length,) = _I16.unpack_from(data, at)
    at += 2
    return data[at:at + length].decode(), at + length


def parse_commit(key: bytes | None, value: bytes | None) -> tuple[str, str, int, int] | None:
    """(group, topic, partition, commit timestamp ms) of an OffsetCommit record, None for any
    other record of the offsets topic (group metadata, a tombstone). Raises ValueError on bytes
    it cannot read."""
    if key is None or value is None:
        return None
    try:
        (key_version,) = _I16.unpack_from(key, 0)
        if key_version not in (0, 1):
            return None  # 2: group metadata
        group, at = _string(key, 2)
        topic, at = _string(key, at)
        (partition,) = _I32.unpack_from(key, at)
        (version,) = _I16.unpack_from(value, 0)
        if not 0 <= version <= 4:
            raise ValueError(f"offset commit value version {version}")
        at = 2 + 8  # the offset
        if version >= 3:
            at += 4  # leader epoch
        if version >= 4:  # flexible: compact string (unsigned varint length + 1)
            length, shift = 0, 0
            while True:
                byte = value[at]
                at += 1
                length |= (byte & 0x7F) << shift
                shift += 7
                if not byte & 0x80:
                    break
            at += max(0, length - 1)
        else:
            _, at = _string(value, at)  # metadata
        (committed_at,) = _I64.unpack_from(value, at)
    except (struct.error, IndexError, UnicodeDecodeError) as exc:
        raise ValueError(f"unreadable offsets record: {exc}") from exc
    return group, topic, partition, committed_at


class CommitWatch:
    """Reads `__consumer_offsets` from its end in the background; `since_ms` is when it started."""

    def __init__(self, bootstrap_servers: str, *, client_id: str = "citybus-lag-commits",
                 clock: Callable[[], float] = time.time) -> None:
        self._bootstrap = bootstrap_servers
        self._client_id = client_id
        self._clock = clock
        self.last_commit_ms: dict[tuple[str, str, int], int] = {}
        self.since_ms: int | None = None  # None until it reads from the topic's end
        self.unreadable = 0
        self._consumer: AIOKafkaConsumer | None = None
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        consumer = AIOKafkaConsumer(bootstrap_servers=self._bootstrap, client_id=self._client_id, group_id=None,
                                    enable_auto_commit=False, exclude_internal_topics=False)
        await consumer.start()
        self._consumer = consumer
        self._task = asyncio.create_task(self._run(), name="citybus-lag-commits")

    async def stop(self) -> None:
        task, self._task = self._task, None
        await cancel_and_wait(task)
        if self._consumer is not None:
            consumer, self._consumer = self._consumer, None
            await stop_consumer(consumer)  # bounded, also with the broker gone

    async def _run(self) -> None:
        try:
            await self._read()
        except Exception:  # noqa: BLE001 - the monitor goes on, judging STALL/STOP by membership
            log.warning("reading %s failed; commit times are unknown from now on", OFFSETS_TOPIC, exc_info=True)
            self.since_ms = None
            self.last_commit_ms.clear()

    async def _read(self) -> None:
        consumer = self._consumer
        assert consumer is not None
        while True:  # the offsets topic appears with the first group: wait for it
            await consumer._client.force_metadata_update()  # noqa: SLF001
            partitions = consumer.partitions_for_topic(OFFSETS_TOPIC)
            if partitions:
                break
            await asyncio.sleep(1.0)
        tps = [TopicPartition(OFFSETS_TOPIC, p) for p in sorted(partitions)]
        consumer.assign(tps)
        await consumer.seek_to_end(*tps)
        for tp in tps:
            await consumer.position(tp)
        self.since_ms = int(self._clock() * 1000)
        while True:
            batches = await consumer.getmany(timeout_ms=500, max_records=5000)
            for records in batches.values():
                for record in records:
                    try:
                        commit = parse_commit(record.key, record.value)
                    except ValueError as exc:
                        self.unreadable += 1
                        log.debug("skipped a record of %s: %s", OFFSETS_TOPIC, exc)
                        continue
                    if commit is not None:
                        group, topic, partition, at_ms = commit
                        key = (group, topic, partition)
                        self.last_commit_ms[key] = max(at_ms, self.last_commit_ms.get(key, at_ms))
