"""`citybus demo`: the whole bus on this machine, start to finish.

A fresh local Kafka, the catalog's topics, the bus services and simulated cities as child
processes; the cities publish years of contributions, the portals request migrations; then
what went where, a few persons' figures, migration timelines and the lag of every group.
Everything it started is stopped before it returns.
"""
from __future__ import annotations

import asyncio
import os
import shutil
import sys
from collections import Counter
from pathlib import Path
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition
from rich.console import Console
from rich.rule import Rule
from rich.table import Column, Table

from citybus.bus import DEADLETTER_TOPIC, REJECTED_EVENT
from citybus.catalog import default_catalog
from citybus.codec import decode
from citybus.demo.processes import ServiceProcess
from citybus.kafka.local import LocalKafka, free_ports
from citybus.kafka.offsets import wait_caught_up
from citybus.kafka.topics import apply_topics
from citybus.settings import settings

__all__ = ["run_demo", "deadletter_table"]

REASON_SHOWN = 200  # characters of an example reason (a reason quotes at most 200 of a bad value)


async def run_demo(persons: int = 2000, keep: bool = False) -> None:
    console = Console(width=None if sys.stdout.isatty() else 120)
    conf = settings()
    home = conf.data_dir / "demo"
    shutil.rmtree(home, ignore_errors=True)
    kafka = LocalKafka(home / "kafka", conf.kafka_lib_dir, nodes=1, heap="1g")
    console.print(Rule("[bold]citybus demo"))
    console.print("starting a single-node Apache Kafka (KRaft) from the Maven jars ...")
    info = await asyncio.to_thread(kafka.up)
    console.print(f"KAFKA_BOOTSTRAP_SERVERS={info.bootstrap}", highlight=False)
    services: list[ServiceProcess] = []
    try:
        changes = await apply_topics(info.bootstrap, default_catalog())
        console.print(f"topics: {Counter(c.action for c in changes)}", highlight=False)
        env = {**os.environ, "KAFKA_BOOTSTRAP_SERVERS": info.bootstrap, "CITYBUS_DATA_DIR": str(home),
               "CITYBUS_WORKING_DAY": "1", "CITYBUS_LAG_INTERVAL": "1"}
        services = _start_services(env, home / "logs")
        await asyncio.gather(*(s.wait_ready() for s in services))
        web = {s.name: s.url for s in services if s.port}
        console.print("services up: " + ", ".join(f"{k} {v}" for k, v in web.items()), highlight=False)

        await _contributions(console, info.bootstrap, web["aggregation"], persons)
        await _migrations(console, info.bootstrap, web["migration"])
        await _what_went_where(console, info.bootstrap)
        await _lag(console, info.bootstrap)
        if keep:
            console.print(f"[bold]--keep[/]: services stay up; logs in {home / 'logs'}. Ctrl-C stops everything.")
            await asyncio.Event().wait()
    finally:
        for service in reversed(services):
            service.stop()
        await asyncio.to_thread(kafka.down)
        console.print(Rule("[bold]demo done: every service and the broker stopped"))


def _start_services(env: dict[str, str], logs: Path) -> list[ServiceProcess]:
    from citybus.demo.migration import DEMO_CITY_ARGS

    ports = dict(zip(("aggregation", "migration", "lag"), free_ports(3)))
    return [
        ServiceProcess("aggregation", ["serve", "aggregation", "--web-port", str(ports["aggregation"])],
                       env, logs, ports["aggregation"]).start(),
        ServiceProcess("migration", ["serve", "migration", "--web-port", str(ports["migration"])],
                       env, logs, ports["migration"]).start(),
        ServiceProcess("cities", ["serve", "city", "--all", *DEMO_CITY_ARGS], env, logs).start(),
        ServiceProcess("lag", ["serve", "lag", "--web-port", str(ports["lag"])], env, logs, ports["lag"]).start(),
    ]


async def _contributions(console: Console, bootstrap: str, url: str, persons: int) -> None:
    from citybus.aggregation.service import input_topics
    from citybus.demo.contributions import publish_demo_history, show_contributions

    console.print(Rule("simulated cities publish contributions and retirements"))
    await publish_demo_history(console, bootstrap, persons=persons)
    catalog = default_catalog()
    topics = input_topics(catalog)
    took = await wait_caught_up(bootstrap, "citybus-aggregation", topics, timeout=600)
    console.print(f"aggregation caught up {took:.1f}s after the last event was published")
    await show_contributions(console, url, bootstrap)


async def _migrations(console: Console, bootstrap: str, url: str) -> None:
    from citybus.demo.migration import show_migrations

    console.print(Rule("one-click migrations"))
    await show_migrations(console, url, bootstrap)


async def _what_went_where(console: Console, bootstrap: str) -> None:
    console.print(Rule("what went where"))
    catalog = default_catalog()
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await consumer.start()
    try:
        partitions = [TopicPartition(t.name, p) for t in catalog.topics for p in range(t.partitions)]
        ends = await consumer.end_offsets(partitions)
    finally:
        await consumer.stop()
    counts: Counter[str] = Counter()
    for tp, end in ends.items():
        counts[tp.topic] += end
    kinds = sorted({t.kind for t in catalog.topics if t.city})
    table = Table("city", *kinds, title="events per city topic")
    for code, city in catalog.cities.items():
        table.add_row(f"{code} {city.name}", *(str(counts[f"city.{code}.{k}"]) for k in kinds))
    console.print(table)
    bus = Table("bus topic", "events", title="events per bus topic")
    for t in catalog.topics:
        if t.city is None:
            bus.add_row(t.name, str(counts[t.name]))
    console.print(bus)
    await _deadletters(console, bootstrap, counts[DEADLETTER_TOPIC])


async def _deadletters(console: Console, bootstrap: str, total: int) -> None:
    if not total:
        console.print("no dead letters")
        return
    consumer = AIOKafkaConsumer(DEADLETTER_TOPIC, bootstrap_servers=bootstrap, auto_offset_reset="earliest",
                                enable_auto_commit=False)
    await consumer.start()
    letters: list[dict[str, Any]] = []
    try:
        while len(letters) < total:
            batches = await consumer.getmany(timeout_ms=2000)
            if not batches:
                break
            letters += [decode(m.value, REJECTED_EVENT)[1] for msgs in batches.values() for m in msgs]
    finally:
        await consumer.stop()
    console.print(deadletter_table(letters, total))


def deadletter_table(letters: list[dict[str, Any]], total: int) -> Table:
    """Dead letters per service and reason code, with one reason in full (up to REASON_SHOWN
    characters, then an ellipsis: a reason cut mid-word read like a broken one)."""
    table = Table("service", "reason code", "count", "topics", Column("reason (an example)", overflow="fold"),
                  title=f"{total} dead letters in {DEADLETTER_TOPIC}")
    seen: Counter[tuple[str, str]] = Counter()
    topics: dict[tuple[str, str], set[str]] = {}
    first: dict[tuple[str, str], str] = {}
    for letter in letters:
        key = (letter["service"], letter["reason_code"])
        seen[key] += 1
        topics.setdefault(key, set()).add(letter["source_topic"])
        first.setdefault(key, letter["reason"])
    for key, n in sorted(seen.items()):
        reason = first[key]
        shown = reason if len(reason) <= REASON_SHOWN else reason[:REASON_SHOWN - 1] + "…"
        table.add_row(key[0], key[1], str(n), str(len(topics[key])), shown)
    return table


async def _lag(console: Console, bootstrap: str) -> None:
    from citybus.domain.lag import LagBook
    from citybus.lag import LagCollector, render_table

    console.print(Rule("consumer lag of every group"))
    catalog = default_catalog()
    book = LagBook(window=settings().lag_window,
                   service_levels={g: lvl.max_lag_seconds for g, lvl in catalog.groups.items() if lvl.max_lag_seconds})
    async with LagCollector(bootstrap, book=book, interval_s=1.0) as collector:
        for _ in range(3):
            await collector.sample_once()
            await asyncio.sleep(1.0)
        console.print(render_table(collector.report()))
