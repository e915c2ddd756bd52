"""SIGTERM to the migration orchestrator, the simulated cities and the lag monitor a second after
their broker went away: each stops in bounded time with exit code 0 and no traceback (aiokafka's
`consumer.stop()` raised its own CancelledError there, and a commit or a producer's flush waited
for the broker for good), and the orchestrator's data directory is released."""
from __future__ import annotations

import asyncio
import os
from pathlib import Path

from citybus.catalog import default_catalog
from citybus.demo.processes import ServiceProcess
from citybus.kafka.local import LocalKafka, free_port
from citybus.kafka.topics import apply_topics

from .stopping import assert_clean, assert_unlocked, terminate


async def test_sigterm_with_the_broker_gone_stops_each_service_cleanly(broker_of_its_own: LocalKafka,
                                                                       tmp_path: Path) -> None:
    kafka = broker_of_its_own
    bootstrap = kafka.running().bootstrap
    await apply_topics(bootstrap, default_catalog())
    env = {**os.environ, "KAFKA_BOOTSTRAP_SERVERS": bootstrap, "CITYBUS_DATA_DIR": str(tmp_path / "data"),
           "CITYBUS_LOG_LEVEL": "INFO", "CITYBUS_LAG_INTERVAL": "1", "CITYBUS_WORKING_DAY": "0.2"}
    logs = tmp_path / "logs"
    services = {
        "migration": ServiceProcess("migration", ["serve", "migration", "--web-port", str(migration_port := free_port())],
                                    env, logs, migration_port),
        "cities": ServiceProcess("cities", ["serve", "city", "--all"], env, logs),
        "lag": ServiceProcess("lag", ["serve", "lag", "--web-port", str(lag_port := free_port())], env, logs, lag_port),
    }
    try:
        for service in services.values():
            service.start()
        await services["migration"].wait_ready("/status")
        await services["lag"].wait_ready("/api/lag")
        await asyncio.sleep(5.0)  # the groups joined, the lag monitor reading __consumer_offsets
        kafka.kill_node(0)
        await asyncio.sleep(1.0)
        for name, service in services.items():
            assert service.proc is not None and service.proc.poll() is None, f"{name} exited:\n{service.tail()}"
        codes = await asyncio.gather(*(asyncio.to_thread(terminate, s.proc, s.log_path)
                                       for s in services.values() if s.proc is not None))
        problems = []  # every service's, not only the first one's
        for (name, service), code in zip(services.items(), codes):
            try:
                assert_clean(code, service.log_path)
            except AssertionError as exc:
                problems.append(f"{name}: {exc}")
        assert not problems, "\n\n".join(problems)
        assert_unlocked(tmp_path / "data" / "migration")
    finally:
        for service in services.values():
            service.stop()
