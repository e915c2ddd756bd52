"""The consume loop of the city adapters on the real broker: a batch's offsets are committed only
once what its handler sent (its answers) is on the broker, and all of them once it is."""
import asyncio
import uuid

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from citybus.bus import Intake, VALIDATORS
from citybus.bus.consumer import GuardedConsumer
from citybus.catalog import TopicSpec, default_catalog
from citybus.codec import encode
from citybus.kafka.topics import apply_topics, ensure_topics
from tests.unit.bus.events import contribution

pytestmark = pytest.mark.integration
TOPIC = "city.440300.insurance.contributions"
CR = "citybus.insurance.ContributionRecorded"


class HeldDeliveries:
    """A real producer whose deliveries are reported only once the test lets them through, as
    when the broker is slow to acknowledge: everything still goes to the broker. `awaited` is set
    once the consumer waits for a delivery (the returned awaitable starts running only then): from
    that moment a consumer that commits before its answers are delivered would have committed."""

    def __init__(self, producer: AIOKafkaProducer) -> None:
        self.producer = producer
        self.released = asyncio.Event()
        self.awaited = asyncio.Event()

    async def send(self, topic, value, key=None, headers=None):  # noqa: ANN001, ANN201
        delivered = await self.producer.send(topic, value, key=key, headers=headers)

        async def when_released():  # noqa: ANN202
            self.awaited.set()
            await self.released.wait()
            return await delivered

        return when_released()


async def _committed(bootstrap: str, group: str, tp: TopicPartition) -> int | None:
    reader = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=group, enable_auto_commit=False)
    await reader.start()
    try:
        return await reader.committed(tp)
    finally:
        await reader.stop()


async def test_a_batch_is_committed_only_once_its_answers_are_delivered(kafka_bootstrap):
    await apply_topics(kafka_bootstrap, default_catalog())
    run = uuid.uuid4().hex[:8]
    answers = f"test.guarded.answers.{run}"
    await ensure_topics(kafka_bootstrap, [TopicSpec(
        name=answers, record="", key="", partitions=1, replication_factor=1, min_insync_replicas=1,
        retention_ms=-1, cleanup_policy="delete", writers=(), readers=())])
    producer = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap, acks="all")
    await producer.start()
    tp = TopicPartition(TOPIC, 0)
    group = f"test-guarded-{run}"
    probe = AIOKafkaConsumer(bootstrap_servers=kafka_bootstrap, group_id=group, enable_auto_commit=False)
    await probe.start()
    try:  # the group starts at the log end (the topic holds other tests' events): ours are its one batch
        partitions = [TopicPartition(TOPIC, p) for p in range(default_catalog().topic(TOPIC).partitions)]
        probe.assign(partitions)
        await probe.commit(await probe.end_offsets(partitions))
        first = await probe.committed(tp)
        for i in range(3):
            await producer.send_and_wait(TOPIC, encode(CR, contribution(record_id=f"{run}-{i}")),
                                         key=run.encode(), partition=0)
        end = (await probe.end_offsets([tp]))[tp]
    finally:
        await probe.stop()
    assert end == first + 3

    handled = []

    async def answer(accepted, send):
        handled.append(accepted.offset)
        await send(answers, accepted.key, b"answer to " + str(accepted.offset).encode(), [])

    held = HeldDeliveries(producer)
    consumer = GuardedConsumer(kafka_bootstrap, [TOPIC], group, Intake(default_catalog(), VALIDATORS), held,
                               answer, service="test-guarded", commit_interval_s=0.05)
    stop = asyncio.Event()
    task = asyncio.create_task(consumer.run(stop))
    try:
        for _ in range(300):
            await asyncio.sleep(0.1)
            if end - 1 in handled:
                break
        assert end - 1 in handled
        # the batch is settling: its answers are awaited (the loop waits for them before its next batch)
        await asyncio.wait_for(held.awaited.wait(), 30.0)
        assert consumer.commits.commits == 0 and not consumer.commits.pending  # nothing handed to commit
        assert await _committed(kafka_bootstrap, group, tp) == first  # the answers are not delivered yet
        held.released.set()
        for _ in range(100):
            await asyncio.sleep(0.1)
            if await _committed(kafka_bootstrap, group, tp) == end:
                break
        assert await _committed(kafka_bootstrap, group, tp) == end  # the idle loop committed it all
    finally:
        held.released.set()
        stop.set()
        await task
        await producer.stop()


async def test_handled_batches_are_committed_when_partitions_are_revoked(kafka_bootstrap):
    """A second member joining takes partitions away from the first: what the first handled is
    committed at that moment (its commit interval here is a minute), so nothing is handled twice."""
    await apply_topics(kafka_bootstrap, default_catalog())
    run = uuid.uuid4().hex[:8]
    group = f"test-guarded-revoke-{run}"
    partitions = [TopicPartition(TOPIC, p) for p in range(default_catalog().topic(TOPIC).partitions)]
    tp = TopicPartition(TOPIC, 0)
    producer = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap, acks="all")
    await producer.start()
    probe = AIOKafkaConsumer(bootstrap_servers=kafka_bootstrap, group_id=group, enable_auto_commit=False)
    await probe.start()
    try:  # the group starts at the log end (the topic holds other tests' events)
        probe.assign(partitions)
        await probe.commit(await probe.end_offsets(partitions))
        first = await probe.committed(tp)
    finally:
        await probe.stop()

    async def publish(label: str) -> int:
        for i in range(3):
            await producer.send_and_wait(TOPIC, encode(CR, contribution(record_id=f"{run}-{label}-{i}")),
                                         key=run.encode(), partition=0)
        return (await _end(kafka_bootstrap, tp))

    handled: dict[str, list[int]] = {"a": [], "b": []}

    def handler(name: str):  # noqa: ANN202
        async def handle(accepted, send):  # noqa: ANN001, ANN202
            if accepted.partition == 0:
                handled[name].append(accepted.offset)
        return handle

    intake = Intake(default_catalog(), VALIDATORS)
    a = GuardedConsumer(kafka_bootstrap, [TOPIC], group, intake, producer, handler("a"), service="test-guarded",
                        commit_interval_s=60.0, heartbeat_interval_ms=500)
    b = GuardedConsumer(kafka_bootstrap, [TOPIC], group, intake, producer, handler("b"), service="test-guarded",
                        commit_interval_s=60.0, heartbeat_interval_ms=500)
    stop_a, stop_b = asyncio.Event(), asyncio.Event()
    first_end = await publish("one")  # on the log before a starts: its first batch, committed at once
    task_a = asyncio.create_task(a.run(stop_a))
    task_b = None
    try:
        await _until(lambda: first_end - 1 in handled["a"])
        await _until_committed(kafka_bootstrap, group, tp, first_end)  # the first commit is never held back
        end = await publish("two")
        await _until(lambda: end - 1 in handled["a"])
        await _until(lambda: a.commits.pending.get(tp) == end)  # delivered, done, held by PacedCommits
        assert a.commits.commits == 1  # the first batch's commit only
        assert await _committed(kafka_bootstrap, group, tp) == first_end  # held: the interval is a minute
        task_b = asyncio.create_task(b.run(stop_b))
        await _until_committed(kafka_bootstrap, group, tp, end)  # committed as the partitions moved
        assert sorted(handled["a"]) == list(range(first, end))
        last = await publish("three")  # whoever owns partition 0 now reads from where it starts up to these
        await _until(lambda: last - 1 in handled["a"] + handled["b"])
        assert sorted(handled["a"] + handled["b"]) == list(range(first, last))  # none handled twice
    finally:
        stop_a.set()
        stop_b.set()
        await task_a
        if task_b is not None:
            await task_b
        await producer.stop()


async def _end(bootstrap: str, tp: TopicPartition) -> int:
    reader = AIOKafkaConsumer(bootstrap_servers=bootstrap)
    await reader.start()
    try:
        return (await reader.end_offsets([tp]))[tp]
    finally:
        await reader.stop()


async def _until(condition, seconds: float = 30.0) -> None:  # noqa: ANN001
    for _ in range(int(seconds * 10)):
        if condition():
            return
        await asyncio.sleep(0.1)
    assert condition()


async def _until_committed(bootstrap: str, group: str, tp: TopicPartition, offset: int,
                           seconds: float = 20.0) -> None:
    for _ in range(int(seconds * 4)):
        if await _committed(bootstrap, group, tp) == offset:
            return
        await asyncio.sleep(0.25)
    assert await _committed(bootstrap, group, tp) == offset
