"""Restoring partition stores from their changelog before a worker applies any event to them."""
from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.structs import ConsumerRecord

from citybus.errors import BrokerError
from citybus.kafka.fetching import lighten
from citybus.streams.store import Stores

__all__ = ["check_not_ahead", "read_outputs", "restore_changelog"]


async def restore_changelog(bootstrap: str, changelog: str, stores: Stores, partitions: list[int]) -> int:
    """Bring each partition's store up to the end of its changelog partition (from the position
    the store last wrote: all of it on an empty disk); the records read. A store ahead of its
    changelog's end is a BrokerError (nothing is restored then)."""
    if not partitions:
        return 0
    reader = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False,
                              auto_offset_reset="earliest", fetch_max_bytes=64 * 1024 * 1024,
                              max_partition_fetch_bytes=16 * 1024 * 1024)
    await reader.start()
    lighten(reader)
    try:
        tps = [TopicPartition(changelog, p) for p in partitions]
        reader.assign(tps)
        ends = await reader.end_offsets(tps)
        check_not_ahead(changelog, stores, {tp.partition: end for tp, end in ends.items()})
        remaining = set()
        for tp in tps:
            start = stores[tp.partition].position(changelog)
            if start < ends[tp]:
                reader.seek(tp, start)
                remaining.add(tp)
        restored = 0
        while remaining:
            fetched = await reader.getmany(*remaining, timeout_ms=500, max_records=50000)
            for tp, records in fetched.items():
                records = [r for r in records if r.offset < ends[tp]]
                if not records:
                    continue
                stores[tp.partition].write(((r.key, r.value) for r in records if r.value is not None),
                                           {changelog: records[-1].offset + 1})
                restored += len(records)
                if records[-1].offset + 1 >= ends[tp]:
                    remaining.discard(tp)
            for tp in list(remaining):  # compaction can leave the last offsets empty
                if await reader.position(tp) >= ends[tp]:
                    remaining.discard(tp)
        return restored
    finally:
        await reader.stop()


def check_not_ahead(changelog: str, stores: Stores, ends: dict[int, int]) -> None:
    """A BrokerError naming every partition whose store has applied records its changelog no
    longer has (the topic deleted and created again, or truncated): going on would leave that
    state in this store alone, and a worker restoring from the changelog would miss it. All of
    them at once: an operator fixing partition 0 should not learn about partition 2 next start."""
    ahead = []
    for partition, end in sorted(ends.items()):
        store = stores.open(partition)
        start = store.position(changelog)
        if start > end:
            ahead.append(f"partition {partition} ends at offset {end}, its store in {store.path} "
                         f"has applied it up to {start}")
    if ahead:
        raise BrokerError(
            f"{changelog} is behind the stores ({'; '.join(ahead)}): the changelog was deleted or truncated. "
            "Restore the topic, or delete these partitions' stores to accept the changelog's state")


async def read_outputs(bootstrap: str, topics: Iterable[str], stores: Stores, partitions: list[int],
                       handle: Callable[[list[ConsumerRecord]], Awaitable[None]]) -> dict[int, dict[str, int]]:
    """The records of `topics` past each partition store's position (output topics a store notes
    its position in), to `handle` a fetch at a time (a whole partition, on an empty disk, would not
    fit in memory); returns partition -> topic -> the end they were read to."""
    tps = [TopicPartition(topic, p) for topic in sorted(topics) for p in partitions]
    if not tps:
        return {}
    reader = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False, auto_offset_reset="earliest")
    await reader.start()
    lighten(reader)
    try:
        reader.assign(tps)
        ends = await reader.end_offsets(tps)
        remaining = set()
        for tp in tps:
            start = stores[tp.partition].position(tp.topic)
            if start < ends[tp]:
                reader.seek(tp, start)
                remaining.add(tp)
        while remaining:
            fetched = await reader.getmany(*remaining, timeout_ms=500, max_records=5000)
            found = [r for tp, records in fetched.items() for r in records if r.offset < ends[tp]]
            if found:
                await handle(found)
            for tp in list(remaining):  # records deleted by retention leave the position past them
                if await reader.position(tp) >= ends[tp]:
                    remaining.discard(tp)
        read: dict[int, dict[str, int]] = {}
        for tp in tps:
            read.setdefault(tp.partition, {})[tp.topic] = ends[tp]
        return read
    finally:
        await reader.stop()
