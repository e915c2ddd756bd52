"""Light fetched records (citybus.kafka.fetching) on the real broker: a lightened consumer reads
the same records as aiokafka's own, field for field and headers included, over plain and
gzip batches, a committed and an aborted transaction (control batches in the log), and a read
that starts in the middle of a batch."""
from __future__ import annotations

import asyncio
import dataclasses
import uuid

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.structs import ConsumerRecord

from citybus.catalog.model import TopicSpec
from citybus.kafka.fetching import FetchedRecord, lighten
from citybus.kafka.topics import ensure_topics

PARTITIONS = 2
FIELDS = [f.name for f in dataclasses.fields(ConsumerRecord)]


def _spec(name: str) -> TopicSpec:
    return TopicSpec(name=name, record="", key="", partitions=PARTITIONS, replication_factor=1, min_insync_replicas=1,
                     retention_ms=-1, cleanup_policy="delete", writers=(), readers=())


async def _write(bootstrap: str, topic: str) -> None:
    async def some(producer: AIOKafkaProducer, prefix: str, n: int) -> None:
        for i in range(n):
            key = None if i % 6 == 1 else f"{prefix}-{i % 13}".encode()
            value = None if i % 6 == 4 else f"{prefix}-value-{i}".encode() * (1 + i % 4)
            headers = [] if i % 3 == 0 else [("ce_id", f"{prefix}-{i}".encode()), ("ce_type", b"t"),
                                              ("nothing", None)][: 1 + i % 3]
            await producer.send(topic, value, key=key, headers=headers, partition=i % PARTITIONS)

    plain = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=20)
    packed = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=20, compression_type="gzip")
    transactional = AIOKafkaProducer(bootstrap_servers=bootstrap, transactional_id=f"tx-{uuid.uuid4().hex[:8]}")
    for producer in (plain, packed, transactional):
        await producer.start()
    try:
        await some(plain, "plain", 300)
        await plain.flush()
        await some(packed, "gzip", 200)
        await packed.flush()
        async with transactional.transaction():
            await some(transactional, "committed", 40)
        await transactional.begin_transaction()
        await some(transactional, "aborted", 20)
        await transactional.abort_transaction()
        await some(plain, "after", 50)
        await plain.flush()
    finally:
        for producer in (plain, packed, transactional):
            await producer.stop()


async def _read(bootstrap: str, topic: str, light: bool, start: dict[TopicPartition, int]) -> tuple[bool, list]:
    # small fetches: many requests, some starting where the last one's bytes ended mid-batch
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False, group_id=None,
                                max_partition_fetch_bytes=4096, fetch_max_bytes=8192)
    await consumer.start()
    lightened = lighten(consumer) if light else False
    try:
        partitions = [TopicPartition(topic, p) for p in range(PARTITIONS)]
        consumer.assign(partitions)
        for tp in partitions:
            consumer.seek(tp, start[tp])
        ends = await consumer.end_offsets(partitions)
        records: list = []
        remaining = set(partitions)
        deadline = asyncio.get_running_loop().time() + 60
        while remaining:
            assert asyncio.get_running_loop().time() < deadline, f"not read to the end: {remaining}"
            for messages in (await consumer.getmany(*remaining, timeout_ms=1000, max_records=37)).values():
                records += messages
            remaining = {tp for tp in remaining if await consumer.position(tp) < ends[tp]}
        return lightened, records
    finally:
        await consumer.stop()


async def test_a_lightened_consumer_reads_what_aiokafka_reads(kafka_bootstrap):
    topic = f"fetching-{uuid.uuid4().hex[:8]}"
    await ensure_topics(kafka_bootstrap, [_spec(topic)])
    await _write(kafka_bootstrap, topic)
    # partition 0 from the start, partition 1 from the middle of a plain batch
    start = {TopicPartition(topic, 0): 0, TopicPartition(topic, 1): 17}
    (lightened, ours), (_, theirs) = await asyncio.gather(_read(kafka_bootstrap, topic, True, start),
                                                          _read(kafka_bootstrap, topic, False, start))
    assert lightened
    assert len(theirs) == 150 + 100 + 20 + 10 + 25 - 17 + 150 + 100 + 20 + 10 + 25  # read_uncommitted: aborted too
    assert {type(r) for r in theirs} == {ConsumerRecord}
    assert {type(r) for r in ours} == {FetchedRecord}
    def fields(records: list) -> list:  # per partition, in offset order (getmany interleaves partitions)
        return sorted([getattr(r, f) for f in FIELDS] for r in records)

    assert fields(ours) == fields(theirs)
    assert any(r.headers == (("ce_id", b"gzip-2"), ("ce_type", b"t"), ("nothing", None)) for r in ours)
