"""Real producers and consumer groups for the lag monitor's integration tests."""
from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from citybus.domain.lag import GroupReport, LagReport
from citybus.lag import LagCollector


def unique(kind: str) -> str:
    return f"lagtest-{kind}-{uuid.uuid4().hex[:8]}"


async def create_topic(bootstrap: str, topic: str, partitions: int = 1, configs: dict[str, str] | None = None) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(topic, partitions, 1, topic_configs=configs or {})])
    finally:
        await admin.close()


async def produce(bootstrap: str, topic: str, count: int) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, linger_ms=0)
    await producer.start()
    try:
        for i in range(count):
            await producer.send_and_wait(topic, f"m{i}".encode(), partition=0)
    finally:
        await producer.stop()


async def commit_offset(bootstrap: str, group: str, topic: str, offset: int) -> None:
    """Commit `offset` on partition 0 for `group` without joining it (a manual assignment)."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=group, enable_auto_commit=False)
    await consumer.start()
    try:
        tp = TopicPartition(topic, 0)
        consumer.assign([tp])
        await consumer.commit({tp: offset})
    finally:
        await consumer.stop()


@dataclass
class SteadyProducer:
    """Sends one message every `period_s` to partition 0, in the background, until stopped.
    `sent` keeps (offset, record timestamp in ms) of every message the broker acknowledged (on a
    topic with message.timestamp.type=LogAppendTime: when the broker appended it)."""

    bootstrap: str
    topic: str
    period_s: float = 0.05
    sent: list[tuple[int, int]] = field(default_factory=list)
    _task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> SteadyProducer:
        self._producer = AIOKafkaProducer(bootstrap_servers=self.bootstrap, linger_ms=0)
        await self._producer.start()
        self._task = asyncio.create_task(self._run())
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
            await self._producer.stop()

    def timestamp_of(self, offset: int) -> int:
        return dict(self.sent)[offset]

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        next_at = loop.time()
        while True:
            meta = await self._producer.send_and_wait(self.topic, b"x" * 32, partition=0)
            self.sent.append((meta.offset, meta.timestamp))
            next_at += self.period_s
            await asyncio.sleep(max(0.0, next_at - loop.time()))


class GroupMember:
    """A live member of `group` consuming `topic`: polls and commits what it read, in the background."""

    def __init__(self, bootstrap: str, group: str, topic: str) -> None:
        self.consumer = AIOKafkaConsumer(
            topic, bootstrap_servers=bootstrap, group_id=group, enable_auto_commit=False,
            auto_offset_reset="earliest", session_timeout_ms=10_000, heartbeat_interval_ms=500,
        )
        self.committed = -1
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> GroupMember:
        await self.consumer.start()
        self._task = asyncio.create_task(self._run())
        return self

    async def stop(self) -> None:
        """Stop polling and leave the group (LeaveGroup: it turns Empty at once)."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self.consumer.stop()

    async def wait_committed(self, at_least: int, timeout: float = 20.0) -> None:
        deadline = time.monotonic() + timeout
        while self.committed < at_least:
            assert time.monotonic() < deadline, f"member did not commit {at_least} within {timeout} s"
            await asyncio.sleep(0.05)

    async def _run(self) -> None:
        while True:
            batches = await self.consumer.getmany(timeout_ms=50)
            if batches:
                await self.consumer.commit()
                self.committed = max(m.offset + 1 for msgs in batches.values() for m in msgs)


async def sample_until(
    collector: LagCollector,
    group: str,
    done: Callable[[GroupReport], bool],
    *,
    interval_s: float,
    timeout_s: float,
    seen: list[LagReport] | None = None,
) -> GroupReport:
    """Sample every `interval_s` until `done(group report)`; every report goes into `seen`."""
    deadline = time.monotonic() + timeout_s
    last: GroupReport | None = None
    while time.monotonic() < deadline:
        started = time.monotonic()
        await collector.sample_once()
        report = collector.report()
        if seen is not None:
            seen.append(report)
        if any(g.group == group for g in report.groups):
            last = report.group(group)
            if done(last):
                return last
        await asyncio.sleep(max(0.0, interval_s - (time.monotonic() - started)))
    raise AssertionError(f"{group}: condition not met within {timeout_s} s; last report: {last}")
