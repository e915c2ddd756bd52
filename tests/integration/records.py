"""Reading what is on the bus in tests: every record of some topics, up to their end offsets."""
from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition


async def end_offsets(bootstrap: str, topics: list[str]) -> dict[TopicPartition, int]:
    """The end offset of every partition of `topics` now: pass it to `read_to_end` as `after` to
    read only what was written since (on a reused cluster, not what an earlier run left)."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False, group_id=None)
    await consumer.start()
    try:
        return await consumer.end_offsets(await _partitions(consumer, topics))
    finally:
        await consumer.stop()


async def read_to_end(bootstrap: str, topics: list[str], after: Mapping[TopicPartition, int] | None = None,
                      isolation_level: str = "read_uncommitted", timeout: float = 120.0) -> list[Any]:
    """Every record of `topics` from the beginning (or from the offsets `after`) up to their end
    offsets now (not until a quiet poll: on a busy machine a first fetch can take longer than any
    pause). Done when the position reaches the end offset, not the last record: transaction
    markers and aborted records take offsets that no record is returned for."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False, group_id=None,
                                isolation_level=isolation_level)
    await consumer.start()
    try:
        partitions = await _partitions(consumer, topics)
        consumer.assign(partitions)
        start = {tp: (after or {}).get(tp, 0) for tp in partitions}
        await consumer.seek_to_beginning(*partitions)
        for tp, offset in start.items():
            if offset:
                consumer.seek(tp, offset)
        ends = await consumer.end_offsets(partitions)
        records = []
        remaining = {tp for tp in partitions if ends[tp] > start[tp]}
        deadline = asyncio.get_running_loop().time() + timeout
        while remaining:
            assert asyncio.get_running_loop().time() < deadline, f"not read to the end in {timeout}s: {remaining}"
            batches = await consumer.getmany(*remaining, timeout_ms=1000)
            for tp, messages in batches.items():
                records += [m for m in messages if start[tp] <= m.offset < ends[tp]]
            remaining = {tp for tp in remaining if await consumer.position(tp) < ends[tp]}
        return records
    finally:
        await consumer.stop()


async def _partitions(consumer: AIOKafkaConsumer, topics: list[str]) -> list[TopicPartition]:
    await consumer._client.force_metadata_update()  # noqa: SLF001 - topics created after start
    partitions = [TopicPartition(t, p) for t in topics for p in consumer.partitions_for_topic(t) or ()]
    assert {tp.topic for tp in partitions} == set(topics), f"unknown topics among {topics}"
    return partitions
