"""The aggregation service as a Faust app: city contributions and retirement requests in,
summaries and statements out (contributions.md).

Tables (RocksDB under <data dir>/aggregation, each with a changelog topic, 6 partitions):

- `ledgers`      resident_id -> PersonLedger bytes
- `retirements`  resident_id -> RetirementBook bytes (requests, last statement of each)
- `statements`   request_id  -> JSON of the latest statement, the /retirements lookup

No repartition: every catalog topic has the same 6 partitions and the city topics are keyed by
resident_id, hashed with murmur2 by every producer (Java, aiokafka), so a resident's events
from every city arrive in one partition number and `ledgers`/`retirements` are co-partitioned
with them: the worker that owns partition p of the sources owns p of these tables. Only the
statements change key: they go through an internal topic keyed by request_id, whose agent
fills `statements` in partition murmur2(request_id), the one HTTP routing looks in.
"""
from __future__ import annotations

import json
from pathlib import Path

import faust

from citybus.aggregation.partition import in_partition_of
from citybus.aggregation.process import Aggregator
from citybus.aggregation.web import add_views
from citybus.bus import default_intake
from citybus.catalog import Catalog, default_catalog
from citybus.domain.contributions import MedicalPolicy
from citybus.streams.app import PARTITIONS, deadletter_sink, faust_send, make_app, raw_topic

__all__ = ["SERVICE", "INDEX_TOPIC", "build_app", "medical_policies", "source_topics"]

SERVICE = "aggregation"
INDEX_TOPIC = "citybus-aggregation-statements-by-request"
BATCH_EVENTS = 4000
BATCH_SECONDS = 0.05


def source_topics(catalog: Catalog) -> list[str]:
    """Every city's contributions and retirements topics: a new city needs no code."""
    kinds = ("insurance.contributions", "insurance.retirements")
    return [t.name for kind in kinds for t in catalog.city_topics(kind)]


def medical_policies(catalog: Catalog) -> dict[str, MedicalPolicy]:
    return {
        city: MedicalPolicy(catalog.policy(city, "medical_required_total_months"),
                            catalog.policy(city, "medical_required_local_months"))
        for city in catalog.city_codes
    }


def build_app(web_port: int = 6066, data_dir: Path | None = None, cache_persons: int = 20000,
              batch_events: int = BATCH_EVENTS) -> faust.App:
    catalog = default_catalog()
    # a worker that died is noticed in 15 s instead of Faust's 60 s, and its partitions move on
    overrides: dict[str, object] = dict(broker_session_timeout=15.0, broker_heartbeat_interval=3.0)
    if data_dir:
        overrides["datadir"] = str(data_dir / SERVICE)
    app = make_app(SERVICE, web_port, **overrides)
    Path(app.conf.datadir).mkdir(parents=True, exist_ok=True)
    table = dict(partitions=PARTITIONS, key_type=bytes, value_type=bytes)
    ledgers = app.Table("ledgers", **table)
    retirements = app.Table("retirements", **table)
    statements = app.Table("statements", **table)
    index = app.topic(INDEX_TOPIC, key_type=bytes, value_type=bytes, key_serializer="raw",
                      value_serializer="raw", partitions=PARTITIONS, internal=True)
    aggregator = Aggregator(
        ledgers=ledgers, retirements=retirements, index_topic=INDEX_TOPIC, intake=default_intake(),
        deadletters=deadletter_sink(app, SERVICE), send=faust_send(app), policies=medical_policies(catalog),
        cache_persons=cache_persons,
    )

    @app.agent(raw_topic(app, source_topics(catalog)), name="citybus.aggregation.aggregate")
    async def aggregate(stream: faust.StreamT) -> None:
        async for events in stream.take_events(batch_events, within=BATCH_SECONDS):
            await aggregator.process(events)

    @app.agent(index, name="citybus.aggregation.index_statements")
    async def index_statements(stream: faust.StreamT) -> None:
        async for events in stream.take_events(1000, within=BATCH_SECONDS):
            for event in events:
                keep_latest_statement(statements, event)

    async def forget(*args: object, **kwargs: object) -> None:
        aggregator.forget()

    app.on_partitions_revoked.connect(forget)
    app.on_partitions_assigned.connect(forget)
    add_views(app, aggregator, ledgers, statements)
    app.aggregator = aggregator  # for tests and the demo: counters
    return app


def keep_latest_statement(statements: faust.Table, event: faust.EventT) -> None:
    """A redelivered older revision never replaces a newer one."""
    with in_partition_of(event):
        current = statements.get(event.key)
        if current is None or json.loads(current)["revision"] <= json.loads(event.value)["revision"]:
            statements[event.key] = event.value
