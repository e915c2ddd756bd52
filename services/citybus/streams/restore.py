"""Restoring partition stores from their changelog before a worker applies any event to them."""
from __future__ import annotations

from aiokafka import AIOKafkaConsumer, TopicPartition

from citybus.errors import BrokerError
from citybus.streams.store import Stores

__all__ = ["restore_changelog", "check_not_ahead"]


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
