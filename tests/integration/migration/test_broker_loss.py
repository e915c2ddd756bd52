"""The orchestrator and the simulated cities on three brokers, one SIGKILLed while a hundred
migrations are under way (with lost, late, duplicated and refused replies): every migration
still ends, and every relation is held by exactly one city."""
from __future__ import annotations

import asyncio
import random
import time
import uuid
from pathlib import Path

from citybus.kafka.local import LocalKafka

from .conftest import running_rig
from .test_migration_service import CITIES, PERSON_SCOPES, assert_invariant, in_progress, person, post_all, wait_final


def test_a_broker_lost_mid_run_leaves_every_relation_in_one_city(cluster3_of_its_own: LocalKafka,
                                                                 tmp_path: Path) -> None:
    rng = random.Random(4242)
    requests = []
    for index in range(100):
        from_city, to_city = rng.sample(CITIES, 2)
        requests.append({"subject_type": "PERSON", "subject_id": person(rng), "from_city": from_city,
                         "to_city": to_city, "scopes": rng.sample(PERSON_SCOPES, rng.randint(1, 4)),
                         "migration_id": f"loss-{index}-{uuid.uuid4().hex[:6]}"})
    ids = [r["migration_id"] for r in requests]
    with running_rig(cluster3_of_its_own.running().bootstrap, tmp_path) as rig:
        half = len(requests) // 2
        asyncio.run(post_all(rig.url, requests[:half]))
        deadline = time.monotonic() + 60
        while asyncio.run(in_progress(rig.url, ids[:half])) > half - 5:
            assert time.monotonic() < deadline, "no migration became final"
            time.sleep(0.2)
        # lost mid-run by construction, however fast the services: the second half is taken (202:
        # requested on the bus) just before the loss and none of it can be final yet (each needs
        # replies from the cities, every one delayed by their --latency)
        asyncio.run(post_all(rig.url, requests[half:]))
        cluster3_of_its_own.kill_node(0)
        views = asyncio.run(wait_final(rig.url, ids, timeout=240))
        assert {v["status"] for v in views.values()} <= {"COMPLETED", "PARTIAL", "FAILED"}
        for name, process in rig.processes.items():
            assert process.poll() is None, f"{name} exited when the broker was lost: see {rig.logs}"
        assert_invariant(rig, views)
