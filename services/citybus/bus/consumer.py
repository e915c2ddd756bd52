"""A consume loop for processes that are not stream workers (the city adapters, tools).

Every event passes the intake; a rejection goes to `bus.deadletter` and the loop commits past
it. A batch's offsets are committed only once everything the handler and the dead letters of
that batch sent through `send` is on the broker, so a crash redelivers (handlers are
idempotent) and never loses an answer or a dead letter. That wait is off the loop's path: a
batch's sends are awaited, and its offsets handed to `PacedCommits`, while the next batch is
handled (batches settle one at a time, in order). When the group takes partitions away, the
batches handled so far are settled and committed before they go, so their new owner starts
where this consumer stopped instead of replaying up to a commit interval of commands. The
producer given must take records as large as `bus.deadletter` does (4 MiB: `city_producer`),
else the dead letter of a record near the broker's 1 MB limit cannot be sent and the loop stops.
A stop ends in bounded time, also with the broker gone (citybus.kafka.closing): the batch in
flight and the last commit get `stop_timeout_s` (None: CITYBUS_STOP_TIMEOUT), then they are
abandoned (replayed at the next start: nothing was committed past them).
"""
from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterable, Sequence
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRebalanceListener, TopicPartition

from citybus.bus.deadletter import DeadLetterSink, Rejection
from citybus.bus.intake import Accepted, Intake
from citybus.kafka.closing import configured_stop_timeout, finish_within, stop_consumer
from citybus.kafka.commits import COMMIT_INTERVAL_S, PacedCommits
from citybus.kafka.fetching import lighten

__all__ = ["GuardedConsumer", "Handler", "Send"]

# (topic, key, value, headers) -> awaits enqueueing; the batch is committed once it is delivered
Send = Callable[[str, bytes | None, bytes, Sequence[tuple[str, bytes]]], Awaitable[None]]
Handler = Callable[[Accepted, Send], Awaitable[None]]

log = logging.getLogger(__name__)


class GuardedConsumer:
    def __init__(self, bootstrap: str, topics: Iterable[str], group_id: str, intake: Intake,
                 producer: AIOKafkaProducer, handler: Handler, *, service: str,
                 commit_interval_s: float = COMMIT_INTERVAL_S, stop_timeout_s: float | None = None,
                 **consumer_options: object) -> None:
        self.topics = list(topics)
        self.intake = intake
        self.producer = producer
        self.handler = handler
        self.deadletters = DeadLetterSink(self.send, service)
        self.consumer = AIOKafkaConsumer(
            bootstrap_servers=bootstrap, group_id=group_id, enable_auto_commit=False,
            auto_offset_reset="earliest", **consumer_options)
        self.commits = PacedCommits(self.consumer.commit, commit_interval_s)
        self.stop_timeout_s = configured_stop_timeout() if stop_timeout_s is None else stop_timeout_s
        self.processed = 0
        self.rejected = 0
        self._deliveries: list[asyncio.Future] = []
        self._settling: asyncio.Task | None = None
        self._handling = asyncio.Lock()  # a batch being handled; a revocation waits for it

    async def send(self, topic: str, key: bytes | None, value: bytes,
                   headers: Sequence[tuple[str, bytes]] = ()) -> None:
        self._deliveries.append(await self.producer.send(topic, value, key=key, headers=list(headers)))

    async def run(self, stop: asyncio.Event) -> None:
        await self.consumer.start()
        lighten(self.consumer)  # headers read only for a dead letter (Intake.check_record)
        self.consumer.subscribe(self.topics, listener=_Revocations(self))
        try:
            if not await finish_within(self._until(stop), stop, self.stop_timeout_s):
                log.warning("the last batch was not committed within %gs of the stop (broker unreachable?); "
                            "it is replayed at the next start", self.stop_timeout_s)
        finally:
            if self._settling is not None:  # stopped by an error: that batch is replayed, not committed
                self._settling.cancel()
            await stop_consumer(self.consumer)

    async def _until(self, stop: asyncio.Event) -> None:
        """Batches until `stop`, then the last one settled and everything committed."""
        while not stop.is_set():
            batches = await self.consumer.getmany(timeout_ms=200, max_records=500)
            async with self._handling:
                for messages in batches.values():
                    for message in messages:
                        await self._one(message)
                await self._settled()  # the batch before this one
                if batches:
                    deliveries, self._deliveries = self._deliveries, []
                    offsets = {tp: messages[-1].offset + 1 for tp, messages in batches.items() if messages}
                    self._settling = asyncio.create_task(self._settle(deliveries, offsets))
                else:
                    await self.commits.flush_if_due()
        await self._settled()
        await self.commits.flush()

    async def on_revoked(self) -> None:
        """Partitions are leaving: what was handled is delivered and committed before they go."""
        async with self._handling:
            task = self._settling
            if task is not None:
                await asyncio.wait([task])
                if task.cancelled() or task.exception() is not None:
                    return  # left for the loop to raise at its next batch; nothing is committed past it
                self._settling = None
            await self.commits.flush()

    async def _settled(self) -> None:
        task, self._settling = self._settling, None
        if task is not None:
            await task  # a failed delivery is raised here and stops the loop: nothing is committed past it

    async def _settle(self, deliveries: list[asyncio.Future], offsets: dict[TopicPartition, int]) -> None:
        await asyncio.gather(*deliveries)
        await self.commits.done(offsets)

    async def _one(self, message) -> None:  # noqa: ANN001 - aiokafka ConsumerRecord
        outcome = self.intake.check_record(message)
        if isinstance(outcome, Rejection):
            await self.deadletters.reject(outcome)
            self.rejected += 1
            return
        await self.handler(outcome, self.send)
        self.processed += 1


class _Revocations(ConsumerRebalanceListener):
    def __init__(self, consumer: GuardedConsumer) -> None:
        self.consumer = consumer

    async def on_partitions_revoked(self, revoked: Any) -> None:
        await self.consumer.on_revoked()

    async def on_partitions_assigned(self, assigned: Any) -> None:
        pass
