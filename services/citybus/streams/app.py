"""Faust apps of the bus services, configured one way: broker, RocksDB tables, partitions, web.

Every bus service reads raw bytes (the intake decodes, so bad bytes reach the dead letters
instead of crashing a deserializer) and keeps its tables in RocksDB under CITYBUS_DATA_DIR
with changelog topics, co-partitioned with the catalog's topics.
"""
from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import faust

from citybus.bus import DEADLETTER_TOPIC, DeadLetterSink
from citybus.catalog import default_catalog
from citybus.kafka.bootstrap import resolve_bootstrap
from citybus.settings import settings

__all__ = ["make_app", "raw_topic", "deadletter_sink", "faust_send", "PARTITIONS"]

PARTITIONS = default_catalog().topic(DEADLETTER_TOPIC).partitions


def make_app(service: str, web_port: int = 6066, **overrides: Any) -> faust.App:
    """A Faust app whose id (and consumer group) is `citybus-<service>`."""
    conf = settings()
    options: dict[str, Any] = dict(
        broker=[f"kafka://{host}" for host in resolve_bootstrap().split(",")],
        store="rocksdb://",
        datadir=str(conf.data_dir / service),
        topic_partitions=PARTITIONS,
        topic_replication_factor=1,
        topic_allow_declare=True,
        producer_acks=-1,
        producer_linger_ms=5,
        web_host=conf.web_host,
        web_port=web_port,
        web_enabled=True,
        consumer_auto_offset_reset="earliest",
        broker_commit_every=1000,
        broker_commit_interval=1.0,
        stream_buffer_maxsize=8192,
        table_standby_replicas=0,
        key_serializer="raw",
        value_serializer="raw",
        autodiscover=False,
    )
    options.update(overrides)
    return faust.App(f"citybus-{service}", **options)


def raw_topic(app: faust.App, names: Iterable[str]) -> faust.TopicT:
    return app.topic(*names, key_type=bytes, value_type=bytes, key_serializer="raw", value_serializer="raw")


def faust_send(app: faust.App):  # noqa: ANN201 - the Send protocol of citybus.bus.deadletter
    async def send(topic: str, key: bytes | None, value: bytes, headers: list[tuple[str, bytes]]) -> object:
        return await app.producer.send(topic, key, value, None, None, headers)

    return send


def deadletter_sink(app: faust.App, service: str) -> DeadLetterSink:
    return DeadLetterSink(faust_send(app), service)
