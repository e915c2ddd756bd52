"""Real processes on the real broker: `citybus serve migration` and `citybus serve city --all`."""
from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
import pytest

from citybus.catalog import default_catalog
from citybus.kafka.local import free_port
from citybus.kafka.topics import apply_topics

CITYBUS = [str(Path(sys.executable).with_name("citybus"))]
WORKING_DAY = "0.2"
REFUSED_AT_CLEARANCE = "91440300MA5F000093"
CHAOS = ["--latency", "0.05", "--refuse-rate", "0.05", "--fail-rate", "0.05", "--lose-rate", "0.08",
         "--duplicate-rate", "0.1", "--late-rate", "0.04", "--seed", "11"]


@dataclass
class MigrationRig:
    bootstrap: str
    data_dir: Path
    port: int
    env: dict[str, str]
    logs: Path
    processes: dict[str, subprocess.Popen] = field(default_factory=dict)
    starts: int = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start_orchestrator(self) -> None:
        self.starts += 1
        log = (self.logs / f"orchestrator-{self.starts}.log").open("w")
        self.processes["orchestrator"] = subprocess.Popen(
            [*CITYBUS, "serve", "migration", "--web-port", str(self.port), "--data-dir", str(self.data_dir)],
            env=self.env, stdout=log, stderr=subprocess.STDOUT)
        asyncio.run(self.wait_ready())

    def start_cities(self, *extra: str) -> None:
        log = (self.logs / "cities.log").open("a")
        self.processes["cities"] = subprocess.Popen(
            [*CITYBUS, "serve", "city", "--all", "--data-dir", str(self.data_dir), *CHAOS,
             "--refuse-clearance", REFUSED_AT_CLEARANCE, *extra],
            env=self.env, stdout=log, stderr=subprocess.STDOUT)

    def second_orchestrator(self) -> str:
        """Another worker of the same group (own port and data dir); returns its URL."""
        port = free_port()
        log = (self.logs / "orchestrator-second.log").open("w")
        self.processes["second"] = subprocess.Popen(
            [*CITYBUS, "serve", "migration", "--web-port", str(port), "--data-dir", str(self.data_dir / "second")],
            env=self.env, stdout=log, stderr=subprocess.STDOUT)
        asyncio.run(self.wait_ready(f"http://127.0.0.1:{port}", "second"))
        asyncio.run(self.wait_ready())
        asyncio.run(self.wait_settled([self.url, f"http://127.0.0.1:{port}"]))
        return f"http://127.0.0.1:{port}"

    async def wait_settled(self, urls: list[str], partitions: int = 6, timeout: float = 60.0) -> None:
        """Until the workers at `urls` own every partition between them, each once, and each
        knows every partition's owner (one answering probe is not enough: the rebalance that the
        joining worker started may still be moving the other partitions)."""
        deadline = time.monotonic() + timeout
        statuses: list = []
        async with aiohttp.ClientSession() as session:
            while time.monotonic() < deadline:
                try:
                    statuses = []
                    for url in urls:
                        async with session.get(f"{url}/status") as response:
                            statuses.append(await response.json())
                except aiohttp.ClientError:
                    await asyncio.sleep(0.3)
                    continue
                owned = [p for status in statuses for p in status["partitions"]]
                if sorted(owned) == list(range(partitions)) and all(
                        len(status["owners"]) == partitions for status in statuses):
                    return
                await asyncio.sleep(0.3)
        raise TimeoutError(f"the workers did not settle: {statuses}")

    def stop_second(self) -> None:
        process = self.processes.pop("second")
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            process.kill()

    def kill_orchestrator(self) -> None:
        process = self.processes.pop("orchestrator")
        process.send_signal(signal.SIGKILL)
        process.wait(10)

    async def wait_ready(self, url: str | None = None, name: str = "orchestrator", timeout: float = 120.0) -> None:
        deadline = time.monotonic() + timeout
        async with aiohttp.ClientSession() as session:
            while time.monotonic() < deadline:
                if self.processes[name].poll() is not None:
                    raise RuntimeError(f"{name} exited: see {self.logs}")
                try:
                    async with session.get(f"{url or self.url}/migrations/readiness-probe") as response:
                        if response.status == 404:
                            return
                except aiohttp.ClientError:
                    pass
                await asyncio.sleep(0.3)
        raise TimeoutError("orchestrator not ready")

    def stop(self) -> None:
        for name, process in list(self.processes.items()):
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(5)
            self.processes.pop(name)


@contextlib.contextmanager
def running_rig(bootstrap: str, base: Path) -> Iterator[MigrationRig]:
    """The catalog's topics on `bootstrap`, the simulated cities and one orchestrator; all stopped after."""
    asyncio.run(apply_topics(bootstrap, default_catalog()))
    logs = base / "logs"
    logs.mkdir()
    env = {**os.environ, "KAFKA_BOOTSTRAP_SERVERS": bootstrap, "CITYBUS_WORKING_DAY": WORKING_DAY,
           "CITYBUS_DATA_DIR": str(base / "data"), "CITYBUS_LOG_LEVEL": "WARNING"}
    rig = MigrationRig(bootstrap, base / "data", free_port(), env, logs)
    try:
        rig.start_cities()
        rig.start_orchestrator()
        yield rig
    finally:
        rig.stop()


@pytest.fixture(scope="module")
def rig(kafka_bootstrap: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[MigrationRig]:
    with running_rig(kafka_bootstrap, tmp_path_factory.mktemp("migration")) as rig:
        yield rig
