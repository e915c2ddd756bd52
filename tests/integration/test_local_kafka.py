"""The local jar broker and the topic catalog, on a real broker."""
import asyncio
import os
from dataclasses import replace

import pytest
from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient

from citybus.catalog import default_catalog
from citybus.kafka.local import _pid_alive
from citybus.kafka.topics import apply_topics

from .records import read_to_end

pytestmark = pytest.mark.integration


async def test_topics_apply_is_idempotent_and_reports_drift(kafka_bootstrap):
    catalog = default_catalog()
    first = await apply_topics(kafka_bootstrap, catalog)
    assert {c.topic for c in first} == {t.name for t in catalog.topics}
    second = await apply_topics(kafka_bootstrap, catalog)
    assert {c.action for c in second} == {"unchanged"}

    # a changed retention is mended; fewer partitions than on the cluster is drift
    name = "bus.deadletter"
    changed = replace(catalog, topics=tuple(
        replace(t, retention_ms=86_400_000) if t.name == name else t for t in catalog.topics))
    mended = {c.topic: c for c in await apply_topics(kafka_bootstrap, changed)}
    assert mended[name].action == "configs-updated" and "retention.ms" in mended[name].detail
    shrunk = replace(catalog, topics=tuple(replace(t, partitions=2) if t.name == name else t for t in catalog.topics))
    drift = {c.topic: c for c in await apply_topics(kafka_bootstrap, shrunk, dry_run=True)}
    assert drift[name].action == "drift"
    await apply_topics(kafka_bootstrap, catalog)  # back to the catalog for the other tests


async def test_transactions_work_on_the_single_node(kafka_bootstrap):
    topic = "test.transactions"
    admin = AIOKafkaAdminClient(bootstrap_servers=kafka_bootstrap)
    await admin.start()
    from aiokafka.admin import NewTopic
    await admin.create_topics([NewTopic(topic, 1, 1)])
    await admin.close()
    producer = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap, transactional_id="citybus-test-tx")
    await producer.start()
    async with producer.transaction():
        await producer.send(topic, b"committed")
    await producer.begin_transaction()
    await producer.send(topic, b"aborted")
    await producer.abort_transaction()
    await producer.stop()
    values = [m.value for m in await read_to_end(kafka_bootstrap, [topic], isolation_level="read_committed")]
    assert values == [b"committed"]


@pytest.mark.skipif(bool(os.environ.get("KAFKA_BOOTSTRAP_SERVERS")), reason="three-node mode is the local jar cluster")
async def test_three_node_cluster_keeps_acks_all_writes_through_one_broker_loss(kafka_cluster3):
    info = kafka_cluster3.running()
    catalog = default_catalog()
    changes = await apply_topics(info.bootstrap, catalog)
    assert {c.action for c in changes} <= {"created", "unchanged"}
    admin = AIOKafkaAdminClient(bootstrap_servers=info.bootstrap)
    await admin.start()
    for _ in range(100):  # each broker learns the new topics' metadata on its own time
        meta = (await admin.describe_topics(["bus.deadletter"]))[0]
        if len(meta["partitions"]) == 6:
            break
        await asyncio.sleep(0.2)
    await admin.close()
    assert {len(p["replicas"]) for p in meta["partitions"]} == {3}

    kafka_cluster3.kill_node(2)
    assert not _pid_alive(info.pids[2])
    producer = AIOKafkaProducer(bootstrap_servers=info.bootstrap.split(",")[0], acks="all",
                                enable_idempotence=True, request_timeout_ms=20000)
    await producer.start()
    try:
        sent = await asyncio.wait_for(producer.send_and_wait("bus.deadletter", b"still-writable", key=b"k"), 60)
    finally:
        await producer.stop()
    assert sent.offset >= 0  # min.insync.replicas=2 with two of three brokers alive
