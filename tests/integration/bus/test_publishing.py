"""CityPublisher.publish_many on the real broker: every event lands once, in the partition Kafka's
default partitioner gives its key, with its CloudEvents headers, idempotent and acks=all."""
import asyncio
import uuid

import pytest
from aiokafka import AIOKafkaConsumer

from citybus.bus.publisher import CityPublisher, city_producer, default_partition
from citybus.catalog import default_catalog
from citybus.codec import decode, parse_cloudevent_headers
from citybus.domain.ids import resident_id_check_char
from citybus.kafka.topics import apply_topics
from tests.unit.bus.events import contribution

pytestmark = pytest.mark.integration
TOPIC = "city.440300.insurance.contributions"


def ours(message, run):
    """Other tests write bad bytes to the same topic."""
    try:
        return decode(message.value)[1]["record_id"].startswith(run)
    except Exception:  # noqa: BLE001
        return False


async def read_run(bootstrap, run, expected, timeout=30.0):
    consumer = AIOKafkaConsumer(TOPIC, bootstrap_servers=bootstrap, auto_offset_reset="earliest",
                                enable_auto_commit=False, group_id=None)
    await consumer.start()
    found = []
    try:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while loop.time() < deadline and len(found) < expected:
            batches = await consumer.getmany(timeout_ms=300)
            found += [m for msgs in batches.values() for m in msgs if ours(m, run)]
    finally:
        await consumer.stop()
    return found


async def test_publish_many_lands_every_event_in_its_keys_partition(kafka_bootstrap):
    catalog = default_catalog()
    await apply_topics(kafka_bootstrap, catalog)
    run = uuid.uuid4().hex[:8]
    people = [p + resident_id_check_char(p) for p in (f"4403011985{i:07d}" for i in range(97))]
    producer = city_producer(kafka_bootstrap, max_batch_size=16 * 1024)  # several batches per partition
    await producer.start()
    try:
        publisher = CityPublisher(catalog, "440300", producer, system="test")
        events = [publisher.prepare("ContributionRecorded", contribution(
            record_id=f"{run}-{i}", resident_id=people[i % len(people)], month=f"2018-{i % 12 + 1:02d}"))
            for i in range(3000)]
        assert await publisher.publish_many(iter(events)) == 3000
        partitions = len(await producer.partitions_for(TOPIC))
        for key in {e[1] for e in events[:200]}:  # aiokafka's own send() picks the same partition for a key
            _, _, value, headers = publisher.prepare("ContributionRecorded", contribution(
                record_id=f"probe-{run}", resident_id=key.decode()))
            sent = await (await producer.send(TOPIC, value, key=key, headers=headers))
            assert sent.partition == default_partition(key, partitions)
    finally:
        await producer.stop()
    found = await read_run(kafka_bootstrap, run + "-", 3000)
    assert len(found) == 3000
    ids = set()
    for message in found:
        assert message.partition == default_partition(message.key, partitions)
        meta = parse_cloudevent_headers(message.headers)
        assert meta["source"] == "/cities/440300/test" and meta["type"] == "citybus.insurance.ContributionRecorded"
        ids.add(meta["id"])
    assert len(ids) == 3000  # each event once
    for partition in range(partitions):  # per partition, in publishing order
        order = [int(decode(m.value)[1]["record_id"].split("-")[1]) for m in found if m.partition == partition]
        assert order == sorted(order)
    assert {m.partition for m in found} == set(range(partitions))
