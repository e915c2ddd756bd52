"""A consume loop for processes that are not Faust apps (city adapters, tools).

Every event passes the intake; a rejection goes to `bus.deadletter` and the loop commits past
it. Offsets are committed only after the handler and the dead letters of a batch are done, so
a crash redelivers (handlers are idempotent) and never skips.
"""
from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from citybus.bus.deadletter import DeadLetterSink, Rejection
from citybus.bus.intake import Accepted, Intake

__all__ = ["GuardedConsumer", "producer_send"]

Handler = Callable[[Accepted], Awaitable[None]]


def producer_send(producer: AIOKafkaProducer):  # noqa: ANN201 - the Send protocol
    async def send(topic: str, key: bytes | None, value: bytes, headers: list[tuple[str, bytes]]) -> object:
        return await producer.send(topic, value, key=key, headers=headers)

    return send


class GuardedConsumer:
    def __init__(self, bootstrap: str, topics: Iterable[str], group_id: str, intake: Intake,
                 deadletters: DeadLetterSink, handler: Handler, **consumer_options: object) -> None:
        self.topics = list(topics)
        self.intake = intake
        self.deadletters = deadletters
        self.handler = handler
        self.consumer = AIOKafkaConsumer(
            *self.topics, bootstrap_servers=bootstrap, group_id=group_id, enable_auto_commit=False,
            auto_offset_reset="earliest", **consumer_options)
        self.processed = 0
        self.rejected = 0

    async def run(self, stop: asyncio.Event) -> None:
        await self.consumer.start()
        try:
            while not stop.is_set():
                batches = await self.consumer.getmany(timeout_ms=200, max_records=500)
                for messages in batches.values():
                    for message in messages:
                        await self._one(message)
                if batches:
                    await self.consumer.commit()
        finally:
            await self.consumer.stop()

    async def _one(self, message) -> None:  # noqa: ANN001 - aiokafka ConsumerRecord
        outcome = self.intake.check(message.topic, message.partition, message.offset, message.key,
                                    message.value, message.headers)
        if isinstance(outcome, Rejection):
            await self.deadletters.reject(outcome)
            self.rejected += 1
            return
        await self.handler(outcome)
        self.processed += 1
