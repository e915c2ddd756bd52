"""A batch's outputs, written straight into the producer's record batches.

`AIOKafkaProducer.send` costs about 10 us of Python per record (a coroutine, a metadata
check, a future per record); the aggregation worker sends a summary and a changelog record
for most persons of every batch, which made sends about 8% of its time. An `Outbox` keeps one
open record batch per topic-partition (`create_batch`), appends to it, hands a full one to the
producer (`send_batch`) and the rest at `flush`, which waits until the broker has them all.

Per topic-partition the order of `send` is kept. A record without a partition goes where the
producer's default partitioner (murmur2 of the key, as Java's) puts it; one without a key
either goes through `send` (a random partition, as the producer would choose).
"""
from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any, NamedTuple

from aiokafka import AIOKafkaProducer

from citybus.kafka.partitioning import partition_of

__all__ = ["Delivered", "Outbox"]


class Delivered(NamedTuple):
    """Records of one submission are on the broker: `end` is the offset after the last of them."""

    topic: str
    partition: int
    end: int


class Outbox:
    def __init__(self, producer: AIOKafkaProducer) -> None:
        self._producer = producer
        self._open: dict[tuple[str, int], Any] = {}
        self._counts: dict[str, int] = {}
        self._submitted: list[tuple[asyncio.Future, int]] = []

    async def send(self, topic: str, key: bytes | None, value: bytes | None,
                   headers: Sequence[tuple[str, bytes]] = (), partition: int | None = None) -> None:
        """Queue one record (awaits room in the producer, not delivery)."""
        if type(headers) is not list:
            headers = list(headers)
        if partition is None:
            if key is None:
                self._submitted.append((await self._producer.send(topic, value, headers=headers), 1))
                return
            count = self._counts.get(topic)
            if count is None:
                count = self._counts[topic] = len(await self._producer.partitions_for(topic))
            partition = partition_of(key, count)
        tp = (topic, partition)
        batch = self._open.get(tp)
        if batch is None:
            batch = self._open[tp] = self._producer.create_batch()
        if batch.append(timestamp=None, key=key, value=value, headers=headers) is None:  # full
            await self._submit(tp, batch)
            batch = self._open[tp] = self._producer.create_batch()
            batch.append(timestamp=None, key=key, value=value, headers=headers)  # an empty batch takes any record

    async def submit(self) -> None:
        """Hand what is open to the producer: whatever is sent after it through another outbox
        (or `send`) to the same partition comes after it."""
        while self._open:
            tp, batch = self._open.popitem()
            if batch.record_count():
                await self._submit(tp, batch)

    async def flush(self) -> list[Delivered]:
        """`submit`, then wait until the broker has every record sent through this outbox; a failed
        delivery raises here."""
        await self.submit()
        submitted, self._submitted = self._submitted, []
        results = await asyncio.gather(*(future for future, _ in submitted))
        return [Delivered(md.topic, md.partition, md.offset + count) for md, (_, count) in zip(results, submitted)]

    async def _submit(self, tp: tuple[str, int], batch: Any) -> None:
        batch.close()
        future = await self._producer.send_batch(batch, tp[0], partition=tp[1])
        self._submitted.append((future, batch.record_count()))
