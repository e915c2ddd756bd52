"""Demo section: one-click migrations, each shown as a timeline of its steps.

Needs the orchestrator (`citybus serve migration`, CITYBUS_WORKING_DAY=1 reads well) and the
simulated cities started with `citybus serve city --all *DEMO_CITY_ARGS`: 442000 refuses the
TRANSFER_IN of MEDICAL (so one scope is compensated, deterministically) and the enterprise
DEMO_CLEARANCE_REFUSED is refused at tax clearance. Subjects and ids are fresh on every run.
"""
from __future__ import annotations

import random
import time
import uuid

from rich.console import Console

from citybus.bus.publisher import CityPublisher, city_producer
from citybus.catalog import default_catalog
from citybus.codec.mapping.household import household_moved_record
from citybus.domain.ids import enterprise_id_check_char, resident_id_check_char
from citybus.migration.follow import follow_migration, start_migration

__all__ = ["show_migrations", "DEMO_CITY_ARGS", "DEMO_CLEARANCE_REFUSED", "DEMO_WORKING_DAY"]

DEMO_CLEARANCE_REFUSED = "91441900MA5D00042" + enterprise_id_check_char("91441900MA5D00042")
DEMO_WORKING_DAY = "1"  # CITYBUS_WORKING_DAY for the orchestrator: one second per working day
DEMO_CITY_ARGS = ["--refuse", "442000:TRANSFER_IN:MEDICAL", "--refuse-clearance", DEMO_CLEARANCE_REFUSED,
                  "--latency", "0.4", "--seed", "2026"]


def _person(rng: random.Random, region: str) -> str:
    first = f"{region}{rng.randint(1965, 2000)}{rng.randint(1, 12):02d}{rng.randint(1, 28):02d}{rng.randint(0, 999):03d}"
    return first + resident_id_check_char(first)


def _enterprise(rng: random.Random, region: str) -> str:
    first = f"9144{region}" + "".join(rng.choice("0123456789ABCDEFGHJKLMNPQRTUWXY") for _ in range(9))
    return first + enterprise_id_check_char(first)


async def _run(console: Console, url: str, title: str, body: dict) -> dict:
    console.print(f"\n[bold]{title}[/]")
    started = await start_migration(url, body)
    console.print(f"POST /migrations → {started['status']} {started['migration_id']}", highlight=False)
    return await follow_migration(url, started["migration_id"], console, timeout=300)


async def show_migrations(console: Console, migration_url: str, bootstrap: str) -> None:
    rng = random.Random()
    run = uuid.uuid4().hex[:6]

    person = _person(rng, "440305")
    view = await _run(console, migration_url,
                      f"A person moves 深圳 440300 → 中山 442000 with every scope ({person})",
                      {"migration_id": f"demo-{run}-person", "subject_type": "PERSON", "subject_id": person,
                       "from_city": "440300", "to_city": "442000"})
    console.print(f"→ {view['status']}: 442000 refused MEDICAL's TRANSFER_IN, so REVERT_IN at 442000 and "
                  "REVERT_OUT at 440300 put it back; the other scopes moved.", highlight=False)

    enterprise = _enterprise(rng, "0300")
    view = await _run(console, migration_url,
                      f"An enterprise's tax registration moves 440300 → 442000, same credit code ({enterprise})",
                      {"migration_id": f"demo-{run}-tax", "subject_type": "ENTERPRISE", "subject_id": enterprise,
                       "from_city": "440300", "to_city": "442000", "scopes": ["TAX_REGISTRATION"]})
    console.print(f"→ {view['status']}: clearance, transfer out, transfer in — no deregistration, "
                  "no new registration (一键迁移, 无需注销再开业).", highlight=False)

    view = await _run(console, migration_url,
                      f"An enterprise with unpaid tax asks to move 441900 → 440300 ({DEMO_CLEARANCE_REFUSED})",
                      {"migration_id": f"demo-{run}-refused", "subject_type": "ENTERPRISE",
                       "subject_id": DEMO_CLEARANCE_REFUSED, "from_city": "441900", "to_city": "440300"})
    console.print(f"→ {view['status']}: the source bureau refused clearance; nothing moved.", highlight=False)

    resident, move_id = _person(rng, "441900"), f"demo-{run}"
    console.print(f"\n[bold]Zero-click: 上海 310000 registers a household moved in from 东莞 441900 ({resident})[/]")
    producer = city_producer(bootstrap)
    await producer.start()
    try:
        publisher = CityPublisher(default_catalog(), "310000", producer, system="household")
        await publisher.publish("HouseholdMoved", household_moved_record(
            move_id, resident, "441900", "310000", time.time_ns() // 1_000_000))
    finally:
        await producer.stop()
    console.print(f"HouseholdMoved {move_id} on city.310000.household.moves; the bus starts move-{move_id}",
                  highlight=False)
    view = await follow_migration(migration_url, f"move-{move_id}", console, timeout=300)
    console.print(f"→ {view['status']}: pension, medical insurance and provident fund followed the household.",
                  highlight=False)
