"""Small broker chores of the benchmarks: their own scratch topics, counting and reading topics."""
from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import KafkaError

__all__ = ["create_topics", "count_messages", "read_all", "list_topics", "wait_group_done"]


async def create_topics(bootstrap: str, names: list[str], partitions: int = 6) -> None:
    """Scratch topics the catalog does not know (baselines, the quixstreams peer's output)."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        wanted = [NewTopic(n, partitions, 1) for n in names if n not in existing]
        if wanted:
            await admin.create_topics(wanted)
    finally:
        await admin.close()


async def list_topics(bootstrap: str) -> list[str]:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        return sorted(await admin.list_topics())
    finally:
        await admin.close()


async def _partitions(consumer: AIOKafkaConsumer, topics: list[str]) -> list[TopicPartition]:
    await consumer._client.force_metadata_update()  # noqa: SLF001 - topics created moments ago
    return [TopicPartition(t, p) for t in topics for p in sorted(consumer.partitions_for_topic(t) or ())]


async def count_messages(bootstrap: str, topics: list[str]) -> int:
    """Messages on `topics` (end minus beginning offsets; no compaction on these topics)."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await consumer.start()
    try:
        partitions = await _partitions(consumer, topics)
        ends = await consumer.end_offsets(partitions)
        starts = await consumer.beginning_offsets(partitions)
        return sum(ends[tp] - starts[tp] for tp in partitions)
    finally:
        await consumer.stop()


async def read_all(bootstrap: str, topics: list[str], handle: Callable[[object], None],
                   max_records: int = 10_000) -> tuple[int, float]:
    """Feed every message now on `topics` to `handle`, group-less, from the beginning.

    Returns (messages, seconds from the consumer's start to the last message handled).
    """
    started = time.perf_counter()
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False,
                                auto_offset_reset="earliest", max_partition_fetch_bytes=8 * 2**20,
                                fetch_max_bytes=64 * 2**20)
    await consumer.start()
    try:
        partitions = await _partitions(consumer, topics)
        ends = await consumer.end_offsets(partitions)
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        remaining = {tp for tp in partitions if ends[tp] > 0}
        for tp in partitions:  # empty partitions are done already
            if ends[tp] == 0:
                remaining.discard(tp)
        seen = 0
        while remaining:
            batches = await consumer.getmany(timeout_ms=1000, max_records=max_records)
            for tp, messages in batches.items():
                for message in messages:
                    handle(message)
                seen += len(messages)
                if messages and messages[-1].offset + 1 >= ends[tp]:
                    remaining.discard(tp)
        return seen, time.perf_counter() - started
    finally:
        await consumer.stop()


async def wait_group_done(bootstrap: str, group: str, topics: list[str], poll: float = 0.25,
                          timeout: float = 3600.0) -> float:
    """Wait until `group` has committed the log end of every partition of `topics`; return the seconds.

    Unlike a one-shot lag probe, it keeps one admin client and one consumer for all its polls,
    and an unknown group or a coordinator not yet elected counts as "not yet", never as done.
    """
    started = time.perf_counter()
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await admin.start()
    await consumer.start()
    try:
        partitions = await _partitions(consumer, topics)
        if not partitions:
            raise RuntimeError(f"no partitions found for {topics}")
        ends = await consumer.end_offsets(partitions)
        while True:
            try:
                committed = await admin.list_consumer_group_offsets(group)
            except KafkaError:
                committed = {}
            if all(tp in committed and committed[tp].offset >= ends[tp] for tp in partitions if ends[tp]):
                return time.perf_counter() - started
            if time.perf_counter() - started > timeout:
                raise TimeoutError(f"group {group} not caught up after {timeout:.0f} s")
            await asyncio.sleep(poll)
    finally:
        await consumer.stop()
        await admin.close()
