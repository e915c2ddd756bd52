"""One-click migration latency: POST /migrations to the COMPLETED status event, at a steady rate,
with simulated cities that reply at once and never fail; then a short search for the highest
rate held with p99 under one second.

A request is timed from just before its POST is sent to the moment the bench's own consumer
of `bus.migration.status` reads the migration's COMPLETED event. The baseline is one hop on
the same broker at the same rate: an acks=all produce read back by a consumer.
"""
from __future__ import annotations

import asyncio
import os
import statistics
import time
from collections.abc import Callable, Mapping
from typing import Any

import aiohttp
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from citybus.bench.aggregate import service_available
from citybus.bench.broker import create_topics
from citybus.bench.context import BenchContext
from citybus.bench.procs import tree_cpu_s
from citybus.bench.history import resident_of
from citybus.codec import decode
from citybus.kafka.local import free_port

__all__ = ["run_migration"]

STATUS_TOPIC = "bus.migration.status"
STATUS_RECORD = "citybus.migration.MigrationStatusChanged"
HOP_TOPIC = "bench.migration-hop"
P99_LIMIT_MS = 1000.0
_FINAL = {"COMPLETED", "PARTIAL", "FAILED", "REJECTED"}


def _percentile(values: list[float], share: float) -> float:
    if not values:
        return float("inf")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(share * len(ordered)) - 1))]


class StatusWatch:
    """Reads `bus.migration.status` from its end and notes when each migration turned final."""

    def __init__(self, bootstrap: str) -> None:
        self.consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
        self.final: dict[str, tuple[str, float]] = {}
        self._task: asyncio.Task | None = None

    async def start(self) -> None:
        await self.consumer.start()
        await self.consumer._client.force_metadata_update()  # noqa: SLF001
        partitions = [TopicPartition(STATUS_TOPIC, p) for p in self.consumer.partitions_for_topic(STATUS_TOPIC)]
        self.consumer.assign(partitions)
        await self.consumer.seek_to_end(*partitions)
        self._task = asyncio.create_task(self._read())

    async def _read(self) -> None:
        while True:
            batches = await self.consumer.getmany(timeout_ms=100, max_records=5000)
            now = time.perf_counter()
            for messages in batches.values():
                for message in messages:
                    _, status = decode(message.value, STATUS_RECORD)
                    if status["status"] in _FINAL:
                        self.final.setdefault(status["migration_id"], (status["status"], now))

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
        await self.consumer.stop()


class Load:
    """POSTs migrations at a fixed rate and measures each one's time to its final status.

    `cpu`: name -> the CPU seconds a process has used so far; each step reports, per name, the
    CPU it used per migration and the cores it kept busy, from the first request sent until every
    final status is read (polled every 0.1 s) or the drain ends. On a shared machine these say what the
    latency is made of: every process of a migration's path shares the same cores."""

    def __init__(self, url: str, watch: StatusWatch, cpu: Mapping[str, Callable[[], float]] | None = None) -> None:
        self.url = url
        self.watch = watch
        self.cpu = dict(cpu or {})
        self.serial = 0
        self.sent_ids: list[str] = []

    async def hold(self, rate: float, seconds: float, drain_s: float = 20.0) -> dict[str, Any]:
        count = int(rate * seconds)
        sent: dict[str, float] = {}
        errors = 0
        connector = aiohttp.TCPConnector(limit=256)
        async with aiohttp.ClientSession(connector=connector) as session:
            async def post(migration_id: str, subject: str) -> None:
                nonlocal errors
                body = {"migration_id": migration_id, "subject_type": "PERSON", "subject_id": subject,
                        "from_city": "440300", "to_city": "442000"}
                sent[migration_id] = time.perf_counter()
                self.sent_ids.append(migration_id)
                try:
                    async with session.post(f"{self.url}/migrations", json=body,
                                            timeout=aiohttp.ClientTimeout(total=30)) as response:
                        if response.status not in (200, 202):
                            errors += 1
                except (aiohttp.ClientError, asyncio.TimeoutError):
                    errors += 1

            tasks = []
            cpu_before = {name: used() for name, used in self.cpu.items()}
            started = time.perf_counter()
            for i in range(count):
                delay = started + i / rate - time.perf_counter()
                if delay > 0:
                    await asyncio.sleep(delay)
                self.serial += 1
                tasks.append(asyncio.create_task(post(f"bench-{rate:g}-{self.serial}", resident_of(5_000_000 + self.serial))))
            send_seconds = time.perf_counter() - started
            await asyncio.gather(*tasks)
        deadline = time.perf_counter() + drain_s
        while time.perf_counter() < deadline and any(m not in self.watch.final for m in sent):
            await asyncio.sleep(0.1)
        latencies, completed, other, unfinished = [], 0, 0, 0
        ended = time.perf_counter()
        cpu = _cpu_use({name: used() - cpu_before[name] for name, used in self.cpu.items()}, count, ended - started)
        for migration_id, at in sent.items():
            final = self.watch.final.get(migration_id)
            if final is None:  # counted with the time it has waited so far: a lower bound
                unfinished += 1
                latencies.append((ended - at) * 1000)
            else:
                latencies.append((final[1] - at) * 1000)
                completed += final[0] == "COMPLETED"
                other += final[0] != "COMPLETED"
        p99 = _percentile(latencies, 0.99)
        achieved = count / send_seconds if send_seconds else rate
        return {"rate_per_s": rate, "seconds": seconds, "requests": count, "achieved_send_rate_per_s": round(achieved, 1),
                "completed": completed, "not_completed": other, "unfinished": unfinished,
                "http_errors": errors, "p50_ms": round(_percentile(latencies, 0.5), 1), "p99_ms": round(p99, 1),
                "latencies_are_lower_bounds": bool(unfinished), **cpu,
                "held": p99 < P99_LIMIT_MS and achieved >= 0.95 * rate and not errors and not other and not unfinished}


def _cpu_use(used_s: Mapping[str, float], migrations: int, seconds: float) -> dict[str, Any]:
    """CPU per migration (ms) and cores kept busy, per process and in all, over one step."""
    if not used_s or migrations <= 0 or seconds <= 0:
        return {}
    per = {name: round(s * 1000 / migrations, 2) for name, s in used_s.items()}
    cores = {name: round(s / seconds, 2) for name, s in used_s.items()}
    return {"cpu_ms_per_migration": {**per, "all": round(sum(used_s.values()) * 1000 / migrations, 2)},
            "cores_busy": {**cores, "all": round(sum(used_s.values()) / seconds, 2)}}


async def _settle(load: "Load", watch: StatusWatch, timeout: float = 120.0) -> None:
    """Before a new step: wait (a bounded while) for every earlier request to be final."""
    deadline = time.perf_counter() + timeout
    while time.perf_counter() < deadline and any(m not in watch.final for m in load.sent_ids):
        await asyncio.sleep(0.2)


async def _until_accepting(url: str, timeout: float = 180.0) -> float:
    """The web port answers before the orchestrator owns its partitions: POST until a request is taken."""
    started = time.perf_counter()
    body = {"migration_id": "bench-probe", "subject_type": "PERSON", "subject_id": resident_of(4_999_999),
            "from_city": "440300", "to_city": "442000"}
    async with aiohttp.ClientSession() as session:
        while time.perf_counter() - started < timeout:
            try:
                async with session.post(f"{url}/migrations", json=body,
                                        timeout=aiohttp.ClientTimeout(total=5)) as response:
                    if response.status in (200, 202):
                        return time.perf_counter() - started
            except (aiohttp.ClientError, asyncio.TimeoutError):
                pass
            await asyncio.sleep(0.5)
    raise TimeoutError(f"the orchestrator took no request within {timeout:.0f} s")


async def _hop_baseline(bootstrap: str, rate: float, seconds: float) -> dict[str, float]:
    """One acks=all produce, read back by a consumer, at `rate` per second: the floor of one saga hop."""
    await create_topics(bootstrap, [HOP_TOPIC])
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", enable_idempotence=True, linger_ms=0)
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await producer.start()
    await consumer.start()
    received: dict[int, float] = {}
    try:
        await consumer._client.force_metadata_update()  # noqa: SLF001
        partitions = [TopicPartition(HOP_TOPIC, p) for p in consumer.partitions_for_topic(HOP_TOPIC)]
        consumer.assign(partitions)
        await consumer.seek_to_end(*partitions)

        async def read() -> None:
            while True:
                batches = await consumer.getmany(timeout_ms=50)
                now = time.perf_counter()
                for messages in batches.values():
                    for message in messages:
                        received[int(message.value)] = now

        reader = asyncio.create_task(read())
        await asyncio.sleep(0.5)
        sent: dict[int, float] = {}
        count = int(rate * seconds)
        started = time.perf_counter()
        for i in range(count):
            delay = started + i / rate - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            sent[i] = time.perf_counter()
            await producer.send(HOP_TOPIC, str(i).encode(), key=str(i).encode())
        deadline = time.perf_counter() + 10
        while len(received) < count and time.perf_counter() < deadline:
            await asyncio.sleep(0.05)
        reader.cancel()
        hops = [(received[i] - at) * 1000 for i, at in sent.items() if i in received]
        return {"p50_ms": round(statistics.median(hops), 2), "p99_ms": round(_percentile(hops, 0.99), 2),
                "messages": count, "received": len(hops)}
    finally:
        await producer.stop()
        await consumer.stop()


def _cpu_counters(ctx: BenchContext, orchestrator, cities) -> dict[str, Callable[[], float]]:  # noqa: ANN001
    """Every process on a migration's path: the orchestrator, the simulated cities, the broker
    (when this run started it) and this process (the load, the status reader)."""
    counters = {"orchestrator": lambda: tree_cpu_s(orchestrator.proc.pid), "cities": lambda: tree_cpu_s(cities.proc.pid)}
    if ctx.broker_pids:
        counters["broker"] = lambda: sum(tree_cpu_s(pid) for pid in ctx.broker_pids)
    counters["bench"] = time.process_time
    return counters


async def run_migration(ctx: BenchContext) -> None:
    if not (service_available("migration") and service_available("city")):
        ctx.results["migration"] = {"skipped": "`citybus serve migration` / `serve city` have not landed"}
        return
    conf = ctx.config
    env = ctx.env(ctx.home / "migration-data")
    env.pop("CITYBUS_WORKING_DAY", None)  # real working days: with instant replies no deadline is reached
    cities = ctx.children.start("cities", ["serve", "city", "--all", "--latency", "0"], env, ctx.logs)
    port = free_port()
    orchestrator = ctx.children.start("migration", ["serve", "migration", "--web-port", str(port)], env, ctx.logs, port)
    await orchestrator.wait_ready(timeout=180)
    watch = StatusWatch(ctx.bootstrap)
    await watch.start()
    try:
        await _until_accepting(orchestrator.url)
        load = Load(orchestrator.url, watch, _cpu_counters(ctx, orchestrator, cities))
        warm = await load.hold(10, 5, drain_s=60)  # joins, topic metadata, first sagas: not measured
        if warm["completed"] == 0:
            raise RuntimeError(f"no migration completed while warming up: {warm}\n{orchestrator.tail()}")
        hop = await _hop_baseline(ctx.bootstrap, conf.migration_rate, min(conf.migration_hold_s, 10))
        # The search goes up from a low rate, so that no step inherits the backlog of a rate that
        # was not held; the steady rate is measured last (or taken from the search if it got there).
        steps: list[dict[str, Any]] = []
        good: float | None = None  # the highest rate held, the lowest not held (per second)
        bad: float | None = None
        rate: float = conf.migration_search_from
        while len(steps) < conf.migration_max_steps:
            step = await load.hold(rate, conf.migration_hold_s, drain_s=conf.migration_drain_s)
            steps.append(step)
            if step["held"]:
                good = rate
            else:
                bad = rate
                break
            rate = rate * 2
        if good is not None and bad is not None and bad - good > max(10, good * 0.15) \
                and len(steps) < conf.migration_max_steps + 1:
            await _settle(load, watch)
            rate = round((good + bad) / 2)
            step = await load.hold(rate, conf.migration_hold_s, drain_s=conf.migration_drain_s)
            steps.append(step)
            good = rate if step["held"] else good
        steady = next((s for s in steps if s["rate_per_s"] == conf.migration_rate), None)
        if steady is None:
            await _settle(load, watch)
            steady = await load.hold(conf.migration_rate, conf.migration_hold_s, drain_s=conf.migration_drain_s)
            if steady["held"] and bad is None and (good is None or conf.migration_rate > good):
                # the search stopped below a steady rate that was held: that rate counts, and twice it is tried once
                steps.append(steady)
                good = conf.migration_rate
                await _settle(load, watch)
                above = await load.hold(conf.migration_rate * 2, conf.migration_hold_s, drain_s=conf.migration_drain_s)
                steps.append(above)
                if above["held"]:
                    good = above["rate_per_s"]
                else:
                    bad = above["rate_per_s"]
    finally:
        await watch.stop()
    ctx.results["migration"] = {
        "migration_p50_ms": steady["p50_ms"],
        "migration_p99_ms": steady["p99_ms"],
        "migration_rate_per_s": conf.migration_rate,
        "migration_max_rate_per_s": good if good is not None else {"skipped": f"not even {bad}/s was held"},
        "max_rate_is_lower_bound": bad is None,
        "max_rate_first_not_held_per_s": bad,
        # every process of a migration's path at the steady rate, against the machine's cores
        "migration_cores_busy": steady.get("cores_busy", {}).get("all"),
        "machine_cores": os.cpu_count(),
        "migration_baseline_p50_ms": hop["p50_ms"],
        "migration_baseline_p99_ms": hop["p99_ms"],
        "baseline": hop,
        "steady": steady,
        "search": steps,
        "warmup": warm,
        "hold_s": conf.migration_hold_s,
        # correctness: every request taken and every finished migration COMPLETED (a lower-bound
        # latency, from requests still running after the drain, is flagged in `steady`)
        "verified": not steady["http_errors"] and not steady["not_completed"] and steady["completed"] > 0,
        "how": "PERSON migrations 440300 -> 442000, every scope (4 scopes x 3 steps), one orchestrator worker, "
               "all cities simulated in one process with zero latency and zero failure rates; latency = POST sent "
               "to COMPLETED read from bus.migration.status by the bench; held = p99 < 1 s, every request "
               "COMPLETED, sender within 5% of the rate; search doubles from "
               f"{conf.migration_search_from:g}/s for at most {conf.migration_max_steps} steps, then bisects once; a steady rate held "
               "above where the search stopped counts, and twice it is then tried once; each step's CPU per "
               "migration and cores busy per process (orchestrator, cities, broker, this bench) are over the step, "
               "first request until every final status is read (polled every 0.1 s) or the drain ends",
    }
