"""The Outbox on the real broker: what goes in comes out once, in the order sent per partition,
across full record batches and across two outboxes one after the other; a record without a
partition lands where Java's partitioner puts its key; `flush` reports where each partition's
records end."""
from __future__ import annotations

import uuid

from aiokafka import AIOKafkaProducer, TopicPartition

from citybus.catalog.model import TopicSpec
from citybus.kafka.outbox import Outbox
from citybus.kafka.partitioning import partition_of
from citybus.kafka.topics import ensure_topics

from .records import read_to_end

PARTITIONS = 3


def _spec(name: str) -> TopicSpec:
    return TopicSpec(name=name, record="", key="", partitions=PARTITIONS, replication_factor=1, min_insync_replicas=1,
                     retention_ms=-1, cleanup_policy="delete", writers=(), readers=())


async def test_an_outbox_keeps_order_per_partition_across_full_batches_and_outboxes(kafka_bootstrap):
    topic = f"outbox-{uuid.uuid4().hex[:8]}"
    await ensure_topics(kafka_bootstrap, [_spec(topic)])
    # small record batches: a few hundred records fill dozens of them
    producer = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap, acks="all", enable_idempotence=True,
                                max_batch_size=2048, linger_ms=5)
    await producer.start()
    try:
        first, second = Outbox(producer), Outbox(producer)
        sent: list[tuple[int | None, bytes | None, bytes]] = []  # (partition asked, key, value)
        for i in range(600):
            key = f"k{i % 17}".encode()
            partition = i % PARTITIONS if i % 3 == 0 else None  # explicit, or the key's
            value = f"first-{i}".encode() + b"." * (i % 50)
            await first.send(topic, key, value, [("n", str(i).encode())], partition)
            sent.append((partition, key, value))
        await first.send(topic, None, b"no key", (), None)
        await first.submit()  # what the worker does before the next batch is decided
        for i in range(200):
            key = f"k{i % 5}".encode()
            await second.send(topic, key, f"second-{i}".encode(), (), None)
            sent.append((None, key, f"second-{i}".encode()))
        delivered = await first.flush() + await second.flush()
    finally:
        await producer.stop()

    records = await read_to_end(kafka_bootstrap, [topic])
    assert len(records) == 801
    by_value = {r.value: r for r in records}
    assert len(by_value) == 801  # each once
    assert by_value[b"no key"].key is None
    for partition, key, value in sent:
        record = by_value[value]
        assert record.key == key
        assert record.partition == (partition if partition is not None else partition_of(key, PARTITIONS))
    assert list(by_value[b"first-0"].headers) == [("n", b"0")]
    for p in range(PARTITIONS):
        in_log = [r.value for r in sorted((r for r in records if r.partition == p), key=lambda r: r.offset)]
        in_sent = [v for part, key, v in sent if (part if part is not None else partition_of(key, PARTITIONS)) == p]
        assert [v for v in in_log if v != b"no key"] == in_sent
    # where each partition's records end, as the worker notes them for its recovered outputs
    ends: dict[TopicPartition, int] = {}
    for d in delivered:
        assert d.topic == topic
        ends[TopicPartition(topic, d.partition)] = max(ends.get(TopicPartition(topic, d.partition), 0), d.end)
    last = {}
    for r in records:
        last[TopicPartition(topic, r.partition)] = max(last.get(TopicPartition(topic, r.partition), -1), r.offset)
    assert ends == {tp: offset + 1 for tp, offset in last.items()}
    assert len(delivered) > 2 * PARTITIONS  # batches filled up and were submitted on the way
