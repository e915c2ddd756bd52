"""The aggregation service as a real child process, and what the tests compare it with."""
from __future__ import annotations

import asyncio
import os
import signal
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
from aiokafka import TopicPartition
from aiokafka.errors import KafkaError

from citybus.aggregation.service import input_topics
from citybus.bus.publisher import default_partition
from citybus.catalog import default_catalog
from citybus.codec import decode
from citybus.demo.processes import ServiceProcess
from citybus.kafka.local import free_port
from citybus.kafka.offsets import group_lag
from citybus.simulate.contributions import CONTRIBUTION, SimulatedEvent
from tests.unit.domain.contributions.reference import reference_figures

from ..records import end_offsets, read_to_end

GROUP = "citybus-aggregation"


class Worker(ServiceProcess):
    """`citybus serve aggregation --web-port P` with its own data dir, in its own session."""

    def __init__(self, bootstrap: str, data_dir: Path, port: int | None = None, *options: str) -> None:
        port = port or free_port()
        env = {**os.environ, "KAFKA_BOOTSTRAP_SERVERS": bootstrap, "CITYBUS_DATA_DIR": str(data_dir),
               "CITYBUS_LOG_LEVEL": "INFO"}
        super().__init__(f"worker-{port}", ["serve", "aggregation", "--web-port", str(port), *options], env,
                         data_dir, port)
        self.bootstrap = bootstrap
        self.data_dir = data_dir

    async def wait_ready(self, path: str = "/contributions/110101199001011237", timeout: float = 90.0) -> None:
        """Until it answers a query itself (200/404), i.e. it has joined the group and owns partitions."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        async with aiohttp.ClientSession() as session:
            while loop.time() < deadline:
                assert self.proc is not None and self.proc.poll() is None, f"worker exited:\n{self.tail()}"
                try:
                    async with session.get(self.url + path, timeout=aiohttp.ClientTimeout(total=3)) as response:
                        if response.status in (200, 404):
                            return
                except (aiohttp.ClientError, asyncio.TimeoutError):
                    pass
                await asyncio.sleep(0.5)
        raise AssertionError(f"worker {self.url} not ready in {timeout:.0f}s:\n{self.tail()}")

    def kill(self) -> None:
        assert self.proc is not None
        os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(10)

    def stop(self, timeout: float = 30.0) -> None:
        super().stop(timeout)


async def status(worker: Worker) -> dict[str, Any]:
    async with aiohttp.ClientSession() as session, session.get(f"{worker.url}/status") as response:
        assert response.status == 200
        return await response.json()


def watched_topics() -> list[str]:
    return input_topics(default_catalog())


async def wait_lag_at_most(bootstrap: str, left: int, timeout: float = 120.0, interval: float = 0.2) -> int:
    """Until the group's lag on the watched topics is `left` or less (a worker mid-way through the
    events, where a test then kills it or its broker); returns that lag."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while (lag := await group_lag(bootstrap, GROUP, watched_topics())) > left:
        assert loop.time() < deadline, f"no progress: lag {lag}"
        await asyncio.sleep(interval)
    return lag


async def wait_caught_up(bootstrap: str, timeout: float = 240.0, workers: Iterable[Worker] = ()) -> None:
    """Lag 0 on every source topic and on the statement index, twice in a row a second apart."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    zeros = 0
    lag = -1
    while zeros < 2:
        for worker in workers:
            assert worker.proc is not None and worker.proc.poll() is None, f"worker exited:\n{worker.tail()}"
        try:
            lag = await group_lag(bootstrap, GROUP, watched_topics())
        except KafkaError:  # e.g. a broker just lost: its metadata still names it for a while
            lag = -1
        zeros = zeros + 1 if lag == 0 else 0
        assert loop.time() < deadline, f"still {lag} events behind after {timeout:.0f}s"
        await asyncio.sleep(1.0)


@dataclass
class Expected:
    """Per person, the good events in publication order; per request, its fields."""

    events: dict[str, list[dict[str, Any]]] = field(default_factory=lambda: defaultdict(list))
    requests: dict[str, dict[str, Any]] = field(default_factory=dict)
    bad: list[SimulatedEvent] = field(default_factory=list)

    def add(self, events: Iterable[SimulatedEvent]) -> Iterable[SimulatedEvent]:
        """Pass events through (to the publisher) while remembering them."""
        for event in events:
            if event.raw is not None:
                self.bad.append(event)
            elif event.full_name == CONTRIBUTION:
                self.events[event.key].append(event.record)
            else:
                self.requests[event.record["request_id"]] = event.record
                self.events.setdefault(event.key, [])
            yield event

    def persons(self) -> list[str]:
        return sorted(self.events)


def policies() -> dict[str, tuple[int, int]]:
    catalog = default_catalog()
    return {c: (catalog.policy(c, "medical_required_total_months"), catalog.policy(c, "medical_required_local_months"))
            for c in catalog.city_codes}


async def check_http(urls: list[str], expected: Expected) -> int:
    """Every person's summaries and every statement over HTTP, round robin over `urls`, against
    the reference. Returns how many answers were compared."""
    compared = 0
    policy = policies()
    async with aiohttp.ClientSession() as session:
        for i, rid in enumerate(expected.persons()):
            want = reference_figures(expected.events[rid])
            async with session.get(f"{urls[i % len(urls)]}/contributions/{rid}") as response:
                if not want["schemes"]:
                    assert response.status == 404, rid
                else:
                    assert response.status == 200, (rid, await response.text())
                    body = await response.json()
                    assert body["schemes"] == want["schemes"], rid
            compared += 1
        for i, (request_id, request) in enumerate(sorted(expected.requests.items())):
            want = reference_figures(expected.events[request["resident_id"]], request, policy)
            async with session.get(f"{urls[i % len(urls)]}/retirements/{request_id}") as response:
                assert response.status == 200, (request_id, await response.text())
                body = await response.json()
            assert (body["pension"], body["medical"]) == (want["pension"], want["medical"]), request_id
            assert body["resident_id"] == request["resident_id"] and body["revision"] >= 1
            compared += 1
    return compared


async def read_topic(bootstrap: str, topic: str, after: Mapping[TopicPartition, int] | None = None) -> list[Any]:
    """Every record of `topic` from the beginning (or from the offsets `after`, see `topic_ends`) to its current end."""
    return await read_to_end(bootstrap, [topic], after)


async def topic_ends(bootstrap: str, topic: str) -> dict[TopicPartition, int]:
    """Where `topic` ends now: what a test reads after, to see only what its own run wrote."""
    return await end_offsets(bootstrap, [topic])


async def latest_summaries(bootstrap: str) -> dict[tuple[str, str], dict]:
    """The last summary published per (resident, scheme); each must be in the partition Kafka's
    default partitioner gives its key (a person's summaries stay in order for every consumer)."""
    partitions = default_catalog().topic("bus.insurance.summaries").partitions
    latest = {}
    for message in await read_topic(bootstrap, "bus.insurance.summaries"):
        assert message.partition == default_partition(message.key, partitions), message
        _, record = decode(message.value, "citybus.insurance.ContributionSummary")
        latest[(record["resident_id"], record["scheme"])] = record
    return latest


async def assert_summaries_match(bootstrap: str, expected: Expected) -> None:
    """What went out on the bus says what the reference says: each person's last summary per scheme."""
    latest = await latest_summaries(bootstrap)
    for rid in expected.persons():
        for scheme, want in reference_figures(expected.events[rid])["schemes"].items():
            got = latest[(rid, scheme)]
            assert (got["total_months"], got["months_by_city"], got["duplicate_months"]) == (
                want["total_months"], want["months_by_city"], want["duplicate_months"]), (rid, scheme)
