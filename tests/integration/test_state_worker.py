"""The stateful worker itself, pipelined, on the real broker: with many small batches settling
while the next is decided, every input's output is on the broker once and in order per key,
the committed offsets reach the end, and a second worker on an empty disk restores from the
changelog exactly the state the first one stored."""
from __future__ import annotations

import asyncio
import uuid
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.structs import ConsumerRecord

from citybus.catalog.model import TopicSpec
from citybus.kafka.topics import ensure_topics
from citybus.streams.store import Stores
from citybus.streams.worker import Batch, Send, StateWorker, WorkerConfig, partition_of

PARTITIONS = 3
KEYS = 40
PER_KEY = 60


class Relay:
    """Sends each input to the output topic and stores, per key, the last value and a count."""

    def __init__(self, output: str) -> None:
        self.output = output
        self.counts: dict[bytes, int] = {}  # kept readable for the unsettled batch, as the worker requires

    async def process(self, records: Sequence[ConsumerRecord], stores: Stores, send: Send) -> Batch:
        batch = Batch()
        for record in records:
            count = self.counts.get(record.key)
            if count is None:
                stored = stores[record.partition].get(b"n:" + record.key)
                count = int(stored) if stored is not None else 0
            self.counts[record.key] = count + 1
            await send(self.output, record.key, record.value, (), record.partition)
            batch.put(record.partition, b"n:" + record.key, str(count + 1).encode())
            batch.put(record.partition, b"last:" + record.key, record.value)
        return batch

    def forget(self, partitions) -> None:  # noqa: ANN001
        self.counts.clear()


def _spec(name: str, cleanup: str = "delete") -> TopicSpec:
    return TopicSpec(name=name, record="", key="", partitions=PARTITIONS, replication_factor=1, min_insync_replicas=1,
                     retention_ms=-1, cleanup_policy=cleanup, writers=(), readers=())


async def _run_until_caught_up(worker: StateWorker, source: str, ends: dict[int, int], timeout: float = 90) -> None:
    await worker.start()
    task = asyncio.create_task(worker.run())
    consumer = AIOKafkaConsumer(bootstrap_servers=worker.bootstrap, group_id=worker.config.group,
                                enable_auto_commit=False)
    await consumer.start()
    try:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            assert not task.done(), task.exception() if task.done() else None
            committed = {p: (await consumer.committed(TopicPartition(source, p))) or 0 for p in ends}
            if committed == ends:
                break
            assert loop.time() < deadline, f"committed {committed}, end {ends}"
            await asyncio.sleep(0.2)
    finally:
        await consumer.stop()
        worker.stop_soon()
        await asyncio.wait_for(task, 30)


async def test_a_pipelined_worker_loses_nothing_keeps_order_and_restores_from_its_changelog(kafka_bootstrap,
                                                                                            tmp_path: Path):
    run = uuid.uuid4().hex[:8]
    source, output, changelog = f"sw-{run}-in", f"sw-{run}-out", f"sw-{run}-changelog"
    await ensure_topics(kafka_bootstrap, [_spec(source), _spec(output), _spec(changelog, "compact")])

    producer = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap, acks="all", enable_idempotence=True)
    await producer.start()
    try:
        for i in range(PER_KEY):
            for k in range(KEYS):
                key = f"k{k}".encode()
                await producer.send(source, f"{k}:{i}".encode(), key=key, partition=partition_of(key, PARTITIONS))
        await producer.flush()
    finally:
        await producer.stop()
    ends: dict[int, int] = defaultdict(int)
    for k in range(KEYS):
        ends[partition_of(f"k{k}".encode(), PARTITIONS)] += PER_KEY

    def config(name: str) -> WorkerConfig:
        return WorkerConfig(group=f"sw-{run}", topics=[source], changelog=changelog, data_dir=tmp_path / name,
                            url=f"http://{name}", partitions=PARTITIONS, max_records=7, pipelined=True)

    first = StateWorker(kafka_bootstrap, config("first"), Relay(output))
    await _run_until_caught_up(first, source, dict(ends))
    assert first.batches > KEYS * PER_KEY // 7 // 2  # many small batches, each settling behind the next

    reader = AIOKafkaConsumer(output, bootstrap_servers=kafka_bootstrap, auto_offset_reset="earliest",
                              enable_auto_commit=False)
    await reader.start()
    seen: dict[str, list[int]] = defaultdict(list)
    try:
        while sum(map(len, seen.values())) < KEYS * PER_KEY:
            fetched = await asyncio.wait_for(reader.getmany(timeout_ms=1000), 30)
            assert fetched or sum(map(len, seen.values())), "nothing on the output topic"
            for records in fetched.values():
                for record in records:
                    k, i = record.value.decode().split(":")
                    seen[k].append(int(i))
    finally:
        await reader.stop()
    assert all(seen[str(k)] == list(range(PER_KEY)) for k in range(KEYS)), "an output lost, doubled or reordered"

    # a second worker, same group, empty disk: everything comes back from the changelog
    second = StateWorker(kafka_bootstrap, config("second"), Relay(output))
    await second.start()
    task = asyncio.create_task(second.run())
    try:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 60
        while second.ready != set(range(PARTITIONS)):
            assert loop.time() < deadline, f"restored only {second.ready}"
            await asyncio.sleep(0.2)
        for k in range(KEYS):
            key = f"k{k}".encode()
            store = second.stores[partition_of(key, PARTITIONS)]
            assert store.get(b"n:" + key) == str(PER_KEY).encode()
            assert store.get(b"last:" + key) == f"{k}:{PER_KEY - 1}".encode()
    finally:
        second.stop_soon()
        await asyncio.wait_for(task, 30)
