"""The orchestrator and the simulated cities on three brokers, one SIGKILLed while a hundred
migrations are under way (with lost, late, duplicated and refused replies): every migration
still ends, and every relation is held by exactly one city."""
from __future__ import annotations

import asyncio
from pathlib import Path

from citybus.kafka.local import LocalKafka

from .conftest import running_rig
from .test_migration_service import assert_invariant, person_requests, post_half_then_the_rest, wait_final


def test_a_broker_lost_mid_run_leaves_every_relation_in_one_city(cluster3_of_its_own: LocalKafka,
                                                                 tmp_path: Path) -> None:
    requests = person_requests(4242, 100, "loss")
    ids = [r["migration_id"] for r in requests]
    with running_rig(cluster3_of_its_own.running().bootstrap, tmp_path) as rig:
        post_half_then_the_rest(rig.url, requests, final_first=5)
        cluster3_of_its_own.kill_node(0)
        views = asyncio.run(wait_final(rig.url, ids, timeout=240))
        assert {v["status"] for v in views.values()} <= {"COMPLETED", "PARTIAL", "FAILED"}
        for name, process in rig.processes.items():
            assert process.poll() is None, f"{name} exited when the broker was lost: see {rig.logs}"
        assert_invariant(rig, views)
