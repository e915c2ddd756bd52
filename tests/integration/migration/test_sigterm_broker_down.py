"""SIGTERM to the orchestrator and the simulated cities a second after their broker went away,
mid-run: each stops cleanly (exit code 0, no traceback, the orchestrator's data directory
released); once the broker is back and both are started again on the same data directories,
every migration ends, every relation is held by exactly one city, and no migration's final
status on the bus is followed by a different one."""
from __future__ import annotations

import asyncio
import time
from collections import defaultdict
from pathlib import Path

from citybus.codec import decode
from citybus.kafka.local import LocalKafka

from ..records import read_to_end
from ..stopping import assert_clean, assert_unlocked, terminate
from .conftest import running_rig
from .test_migration_service import assert_invariant, person_requests, post_half_then_the_rest, wait_final

FINAL = {"COMPLETED", "PARTIAL", "FAILED", "REJECTED"}


def test_sigterm_with_the_broker_gone_mid_run_then_every_migration_ends_right(broker_of_its_own: LocalKafka,
                                                                              tmp_path: Path) -> None:
    kafka = broker_of_its_own
    requests = person_requests(1010, 80, "term")
    ids = [r["migration_id"] for r in requests]
    bootstrap = kafka.running().bootstrap
    with running_rig(bootstrap, tmp_path) as rig:
        post_half_then_the_rest(rig.url, requests, final_first=5)
        kafka.kill_node(0)
        time.sleep(1.0)
        stopped = {name: rig.processes.pop(name) for name in ("orchestrator", "cities")}
        logs = {"orchestrator": rig.logs / f"orchestrator-{rig.starts}.log", "cities": rig.logs / "cities.log"}
        for name, process in stopped.items():
            assert process.poll() is None, f"{name} exited when the broker went: see {rig.logs}"

        async def terminate_all() -> list[int]:
            return await asyncio.gather(*(asyncio.to_thread(terminate, stopped[n], logs[n]) for n in stopped))

        codes = asyncio.run(terminate_all())
        problems = []
        for name, code in zip(stopped, codes, strict=True):
            try:
                assert_clean(code, logs[name])
            except AssertionError as exc:
                problems.append(f"{name}: {exc}")
        assert not problems, "\n\n".join(problems)
        assert_unlocked(rig.data_dir / "migration")

        kafka.restart_node(0)  # the same broker, its data kept
        rig.start_cities()  # on the same data directories
        rig.start_orchestrator()
        views = asyncio.run(wait_final(rig.url, ids, timeout=180))
        assert {v["status"] for v in views.values()} <= {"COMPLETED", "PARTIAL", "FAILED"}
        assert_invariant(rig, views)
        assert_final_stays_final(bootstrap, views)


def assert_final_stays_final(bootstrap: str, views: dict[str, dict]) -> None:
    """On bus.migration.status, each migration's records (one key, one partition: in order) end
    with the status the orchestrator answers, and none after a final one differs from it."""
    statuses: dict[str, list[str]] = defaultdict(list)
    for record in asyncio.run(read_to_end(bootstrap, ["bus.migration.status"])):
        body = decode(record.value, "citybus.migration.MigrationStatusChanged")[1]
        if body["migration_id"] in views:
            statuses[body["migration_id"]].append(body["status"])
    changed = {}
    for migration_id, seen in statuses.items():
        finals = [s for s in seen if s in FINAL]
        if len(set(seen[seen.index(finals[0]):] if finals else [])) > 1:
            changed[migration_id] = seen
    assert not changed, list(changed.items())[:10]
    assert {m: s[-1] for m, s in statuses.items()} == {m: v["status"] for m, v in views.items()}
