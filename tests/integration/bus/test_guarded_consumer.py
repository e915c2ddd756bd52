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
    when the broker is slow to acknowledge: everything still goes to the broker."""

    def __init__(self, producer: AIOKafkaProducer) -> None:
        self.producer = producer
        self.released = asyncio.Event()

    async def send(self, topic, value, key=None, headers=None):  # noqa: ANN001, ANN201
        delivered = await self.producer.send(topic, value, key=key, headers=headers)

        async def when_released():  # noqa: ANN202
            await self.released.wait()
            return await delivered

        return asyncio.ensure_future(when_released())


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
        await asyncio.sleep(1.0)  # twenty commit intervals, idle polls included
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
