"""Demo section: simulated cities publish years of contributions; the aggregation's answers, readable."""
from __future__ import annotations

import asyncio
import itertools
from decimal import Decimal
from typing import Any

import aiohttp
from rich.console import Console
from rich.table import Table

from citybus.catalog import default_catalog
from citybus.codec import decode
from citybus.simulate import WORKED_EXAMPLE_ID, WORKED_EXAMPLE_REQUEST, contribution_history, publish_history

__all__ = ["publish_demo_history", "show_contributions", "DEMO_SEED"]

DEMO_SEED = 2026


async def publish_demo_history(console: Console, bootstrap: str, persons: int = 2000) -> dict[str, Any]:
    """Publish `persons` careers (the spec's person P first) with a few bad events among them.
    Returns {"total", "topics": {topic: n}, "cities": {city: {"contributions", "retirements"}}, "bad": {code: n}}."""
    with console.status(f"the six cities publish the careers of {persons} persons ..."):
        counts = await publish_history(bootstrap, contribution_history(persons, seed=DEMO_SEED, bad=True))
    topics = {k: v for k, v in sorted(counts.items()) if not k.startswith("deadletter:")}
    bad = {k.split(":", 1)[1]: v for k, v in sorted(counts.items()) if k.startswith("deadletter:")}
    cities: dict[str, dict[str, int]] = {}
    for topic, n in topics.items():
        _, city, _, kind = topic.split(".")
        cities.setdefault(city, {"contributions": 0, "retirements": 0})[kind] += n
    table = Table("city", "contributions", "retirement requests", title="published by the simulated cities")
    names = default_catalog().cities
    for city, kinds in sorted(cities.items()):
        table.add_row(f"{city} {names[city].name}", str(kinds["contributions"]), str(kinds["retirements"]))
    console.print(table)
    console.print(f"among them {sum(bad.values())} bad events for the dead letters: "
                  + ", ".join(f"{code} {n}" for code, n in bad.items()), highlight=False)
    return {"total": sum(topics.values()), "topics": topics, "cities": cities, "bad": bad}


async def show_contributions(console: Console, aggregation_url: str, bootstrap: str) -> None:
    """A few persons' summaries (P of contributions.md first) and P's retirement statement."""
    url = aggregation_url.rstrip("/")
    others = await _interesting_persons(bootstrap)
    async with aiohttp.ClientSession() as session:
        for rid in [WORKED_EXAMPLE_ID, *others]:
            async with session.get(f"{url}/contributions/{rid}") as response:
                if response.status != 200:
                    console.print(f"{rid}: HTTP {response.status} {await response.text()}", highlight=False)
                    continue
                person = await response.json()
            label = " (person P of the worked example)" if rid == WORKED_EXAMPLE_ID else ""
            console.print(_person_table(person, label))
        async with session.get(f"{url}/retirements/{WORKED_EXAMPLE_REQUEST}") as response:
            statement = await response.json() if response.status == 200 else None
    if statement:
        console.print(_statement_table(statement))
    console.print("query it yourself:", highlight=False)
    console.print(f"  curl {url}/contributions/{WORKED_EXAMPLE_ID}", highlight=False, soft_wrap=True)
    console.print(f"  curl {url}/retirements/{WORKED_EXAMPLE_REQUEST}", highlight=False, soft_wrap=True)


async def _interesting_persons(bootstrap: str, wanted: int = 3) -> list[str]:
    """Persons whose latest PENSION summary spans the most cities and has refunds (from bus.insurance.summaries)."""
    from aiokafka import AIOKafkaConsumer, TopicPartition

    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await consumer.start()
    latest: dict[str, dict[str, Any]] = {}
    try:
        topic = "bus.insurance.summaries"
        if not consumer.partitions_for_topic(topic):
            await consumer._client.force_metadata_update()  # noqa: SLF001 - no metadata before the first fetch
        partitions = [TopicPartition(topic, p) for p in consumer.partitions_for_topic(topic) or ()]
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        ends = await consumer.end_offsets(partitions)
        remaining = {tp for tp in partitions if ends[tp] > 0}
        await asyncio.sleep(0)  # let the consumer's own tasks start before any early stop
        while remaining:
            for tp, messages in (await consumer.getmany(timeout_ms=1000, max_records=2000)).items():
                for message in messages:
                    _, record = decode(message.value, "citybus.insurance.ContributionSummary")
                    if record["scheme"] == "PENSION" and record["resident_id"] != WORKED_EXAMPLE_ID:
                        latest[record["resident_id"]] = record
                if messages and messages[-1].offset + 1 >= ends[tp]:
                    remaining.discard(tp)
    finally:
        await consumer.stop()
    ranked = sorted(latest.values(), key=lambda r: (-len(r["months_by_city"]), -r["duplicate_months"],
                                                    r["resident_id"]))
    return [r["resident_id"] for r in itertools.islice(ranked, wanted)]


def _city(code: str) -> str:
    city = default_catalog().cities.get(code)
    return f"{code} {city.name.split()[0]}" if city else code


def _person_table(person: dict[str, Any], label: str) -> Table:
    table = Table("scheme", "months", "by city", "first – last", "last city", "dup. months", "refunds",
                  title=f"contributions of {person['resident_id']}{label}")
    for scheme, s in person["schemes"].items():
        refunds = sum((Decimal(r["amount"]) for r in s["refunds"]), Decimal("0.00"))
        table.add_row(scheme, str(s["total_months"]),
                      "\n".join(f"{_city(c)}: {n}" for c, n in s["months_by_city"].items()),
                      f"{s['first_month']} – {s['last_month']}", _city(s["last_city"]), str(s["duplicate_months"]),
                      f"{len(s['refunds'])}, {refunds:.2f} CNY" if s["refunds"] else "-")
    return table


def _statement_table(statement: dict[str, Any]) -> Table:
    pension, medical = statement["pension"], statement["medical"]
    table = Table("", "", title=f"retirement statement {statement['request_id']} (revision {statement['revision']}), "
                                f"applied in {_city(statement['city'])}, hukou {_city(statement['hukou_city'])}")
    table.add_row("pension months", f"{pension['total_months']} "
                  + ", ".join(f"{_city(c)} {n}" for c, n in pension["months_by_city"].items()))
    table.add_row("pension eligible (≥ 180)", "yes" if pension["eligible"] else "no")
    table.add_row("payable city", _city(pension["payable_city"]))
    for t in pension["transfers"]:
        table.add_row(f"transfer from {_city(t['from_city'])}",
                      f"pooled fund {t['pooled_fund']}, individual account {t['individual_account']}")
    table.add_row("medical months", f"{medical['total_months']} total, {medical['local_months']} local "
                  f"(needs {medical['required_total_months']} / {medical['required_local_months']})")
    table.add_row("medical eligible", "yes" if medical["eligible"] else f"no, {medical['shortfall_months']} months short")
    return table


