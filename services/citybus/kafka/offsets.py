"""Has a consumer group caught up? Committed offsets against log end offsets, over the admin API."""
from __future__ import annotations

import asyncio

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import KafkaError

from citybus.kafka.closing import stop_admin, stop_consumer

__all__ = ["group_lag", "wait_caught_up"]


async def group_lag(bootstrap: str, group: str, topics: list[str]) -> int:
    """Messages the group has still to consume on `topics` (uncommitted partitions count in full)."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await admin.start()
    await consumer.start()
    try:
        partitions = [TopicPartition(t, p) for t in topics for p in (consumer.partitions_for_topic(t) or ())]
        if not partitions:
            await consumer._client.force_metadata_update()  # noqa: SLF001 - topics created after start
            partitions = [TopicPartition(t, p) for t in topics for p in (consumer.partitions_for_topic(t) or ())]
        ends = await consumer.end_offsets(partitions)
        starts = await consumer.beginning_offsets(partitions)
        committed = await admin.list_consumer_group_offsets(group)
        return sum(max(0, ends[tp] - (committed[tp].offset if tp in committed else starts[tp])) for tp in partitions)
    finally:
        await stop_consumer(consumer)
        await stop_admin(admin)


async def wait_caught_up(bootstrap: str, group: str, topics: list[str], timeout: float = 300.0,
                         poll: float = 1.0) -> float:
    """Wait until the group's lag on `topics` is 0; return the seconds it took. TimeoutError otherwise."""
    loop = asyncio.get_running_loop()
    started = loop.time()
    lag: int | str = "unknown"
    while True:
        try:
            lag = await group_lag(bootstrap, group, topics)
        except KafkaError as exc:  # the group coordinator is not ready yet right after start-up
            lag = f"unknown ({type(exc).__name__})"
        if lag == 0:
            return loop.time() - started
        if loop.time() - started > timeout:
            raise TimeoutError(f"group {group} still {lag} messages behind after {timeout:.0f}s")
        await asyncio.sleep(poll)
