"""Aggregation, end to end: all events first on the topics, then a worker started cold and timed
from its launch until its consumer group has lag 0 on the contribution topics.

Three readers of the same events, one after the other on an otherwise idle machine:
a bare aiokafka consumer that only decodes (the baseline), the Faust service (one worker),
and the same aggregation written with quixstreams.
"""
from __future__ import annotations

import asyncio
import shutil
import subprocess
import sys
import time
from typing import Any

import aiohttp

from citybus.bench.broker import create_topics, read_all, wait_group_done
from citybus.bench.context import BenchContext
from citybus.bench.history import CONTRIBUTION, resident_of
from citybus.bench.procs import PeakRss, tree_cpu_s, tree_rss_mb
from citybus.bench.verify import VERIFIER, expected_schemes, sample_indexes
from citybus.codec import decode, default_codec
from citybus.codec.mapping import CONTRIBUTION_FIELDS, build_contribution
from citybus.kafka.local import free_port
from citybus.settings import REPO_ROOT

__all__ = ["run_aggregate", "service_available", "start_worker", "AGGREGATION_GROUP", "fetch_person"]

AGGREGATION_GROUP = "citybus-aggregation"
QUIX_GROUP = "bench-quixstreams"
QUIX_OUTPUT = "bench.quix-summaries"
SUMMARY = "citybus.insurance.ContributionSummary"


def service_available(name: str) -> bool:
    """Has `citybus serve <name>` landed in this checkout?"""
    done = subprocess.run([sys.executable, "-m", "citybus", "serve", "--help"], capture_output=True, text=True,
                          check=False)
    return done.returncode == 0 and f" {name} " in done.stdout


async def _baseline(ctx: BenchContext) -> dict[str, Any]:
    # the service's own reading: straight into the domain record, `decode` for anything else
    direct = default_codec().decoder_into(CONTRIBUTION, build_contribution, CONTRIBUTION_FIELDS, millis=True)

    def handle(message) -> None:  # noqa: ANN001
        if direct(message.value) is None:
            decode(message.value, CONTRIBUTION)

    cpu = time.process_time()
    seen, seconds = await read_all(ctx.bootstrap, ctx.contribution_topics, handle)
    return {"events": seen, "seconds": seconds, "cpu_s": time.process_time() - cpu}


def start_worker(ctx: BenchContext, name: str = "aggregation"):  # noqa: ANN201
    port = free_port()
    return ctx.children.start(name, ["serve", "aggregation", "--web-port", str(port)],
                              ctx.env(ctx.home / "aggregation-data"), ctx.logs, port)


async def _timed_until_caught_up(ctx: BenchContext, service, group: str) -> dict[str, Any]:  # noqa: ANN001
    started = time.perf_counter()
    ready_at: dict[str, float] = {}

    async def ready() -> None:
        if service.port is None:
            return
        await service.wait_ready(timeout=300)
        ready_at["s"] = time.perf_counter() - started
        ready_at["rss_mb"] = tree_rss_mb(service.proc.pid)

    with PeakRss(service.proc.pid) as rss:
        probe = asyncio.create_task(ready())
        waiter = asyncio.create_task(wait_group_done(ctx.bootstrap, group, ctx.contribution_topics))
        watch = _exited(service)
        done, _ = await asyncio.wait({waiter, watch}, return_when=asyncio.FIRST_COMPLETED)
        watch.cancel()
        if waiter not in done:
            waiter.cancel()
            raise RuntimeError(f"{service.name} exited before catching up:\n{service.tail()}")
        waiter.result()  # a failed wait raises here
        seconds = time.perf_counter() - started
        cpu_s = tree_cpu_s(service.proc.pid)
        await probe
    return {"seconds": seconds, "cpu_s": cpu_s, "ready_s": ready_at.get("s"), "ready_rss_mb": ready_at.get("rss_mb"),
            "peak_rss_mb": rss.peak_mb}


def _exited(service) -> asyncio.Task:  # noqa: ANN001
    async def watch() -> None:
        while service.proc.poll() is None:
            await asyncio.sleep(0.5)

    return asyncio.create_task(watch())


async def fetch_person(session: aiohttp.ClientSession, url: str, resident: str) -> tuple[int, Any]:
    async with session.get(f"{url}/contributions/{resident}", timeout=aiohttp.ClientTimeout(total=10)) as response:
        return response.status, (await response.json() if response.status == 200 else None)


async def check_service(ctx: BenchContext, url: str, indexes: list[int]) -> list[str]:
    """Mismatches between the service's HTTP figures and the independent computation."""
    conf = ctx.config
    wrong = []
    async with aiohttp.ClientSession() as session:
        for index in indexes:
            resident, expected = expected_schemes(conf.seed, conf.persons, conf.events, index)
            status, body = await fetch_person(session, url, resident)
            got = body["schemes"] if status == 200 else {}
            if (status == 404 and expected) or (status not in (200, 404)) or got != expected:
                wrong.append(f"{resident}: HTTP {status} {got!r} != {expected!r}")
    return wrong


async def _service(ctx: BenchContext) -> dict[str, Any]:
    shutil.rmtree(ctx.home / "aggregation-data", ignore_errors=True)
    worker = start_worker(ctx)
    timing = await _timed_until_caught_up(ctx, worker, AGGREGATION_GROUP)
    indexes = sample_indexes(ctx.config.persons, ctx.config.verify_sample)
    wrong = await check_service(ctx, worker.url, indexes)
    ctx.children.stop(worker)  # the recovery benchmark restarts it from this state
    return {**timing, "checked_persons": len(indexes), "mismatches": wrong[:5], "verified": not wrong}


async def _quix(ctx: BenchContext) -> dict[str, Any]:
    python = ctx.config.quix_python
    if python is None or not python.exists():
        return {"skipped": f"no quixstreams virtualenv at {python} (make bench creates it)"}
    await create_topics(ctx.bootstrap, [QUIX_OUTPUT])
    state = ctx.home / "quix-state"
    shutil.rmtree(state, ignore_errors=True)
    env = ctx.env(PYTHONPATH=str(REPO_ROOT / "services"))
    peer = ctx.children.start("quixstreams", ["-m", "citybus.bench.quix_peer", "--bootstrap", ctx.bootstrap,
                                              "--group", QUIX_GROUP, "--state-dir", str(state),
                                              "--output", QUIX_OUTPUT], env, ctx.logs, python=str(python))
    timing = await _timed_until_caught_up(ctx, peer, QUIX_GROUP)
    ctx.children.stop(peer)
    wrong = await _check_quix(ctx)
    return {**timing, "mismatches": wrong[:5], "verified": not wrong}


async def _check_quix(ctx: BenchContext) -> list[str]:
    """The peer's last summary of each sampled person and scheme against the independent computation."""
    conf = ctx.config
    indexes = sample_indexes(conf.persons, conf.verify_sample)
    wanted = {resident_of(i): i for i in indexes}
    last: dict[str, dict[str, Any]] = {r: {} for r in wanted}

    def handle(message) -> None:  # noqa: ANN001
        if message.key.decode() in wanted:
            _, summary = decode(message.value, SUMMARY)
            last[summary["resident_id"]][summary["scheme"]] = summary

    await read_all(ctx.bootstrap, [QUIX_OUTPUT], handle)
    wrong = []
    for resident, index in wanted.items():
        _, expected = expected_schemes(conf.seed, conf.persons, conf.events, index)
        got = {scheme: _summary_json(s) for scheme, s in last[resident].items() if s["total_months"]}
        if got != expected:
            wrong.append(f"{resident}: {got!r} != {expected!r}")
    return wrong


def _summary_json(record: dict[str, Any]) -> dict[str, Any]:
    return {
        "total_months": record["total_months"],
        "months_by_city": dict(sorted(record["months_by_city"].items())),
        "first_month": record["first_month"], "last_month": record["last_month"], "last_city": record["last_city"],
        "duplicate_months": record["duplicate_months"],
        "refunds": [{"city": r["city"], "record_id": r["record_id"], "month": r["month"], "amount": f"{r['amount']:.2f}"}
                    for r in record["refunds"]],
    }


async def run_aggregate(ctx: BenchContext) -> None:
    conf = ctx.config
    events = ctx.published
    base = await _baseline(ctx)
    result: dict[str, Any] = {
        "events": events, "persons": conf.persons,
        "aggregate_baseline_events_per_s": round(base["events"] / base["seconds"]),
        "baseline_seconds": round(base["seconds"], 2),
        "aggregate_baseline_cpu_us_per_event": _us_per_event(base["cpu_s"], events),
        "verifier": VERIFIER,
        "how": "all events on the six contribution topics first; each reader then started cold and timed from "
               "its launch (process start, so start-up is included) until its consumer group's committed "
               "offsets reach the log end (lag 0, polled every 0.25 s); baseline: a group-less aiokafka "
               "consumer in the bench process that only decodes every value, as the service does (straight "
               "into the domain record, citybus.bus.validators.DIRECT); CPU per event: user and system CPU "
               "seconds of the reader's process tree from its launch to lag 0 (the baseline's: the bench "
               "process's own while it reads), over the events",
    }
    if service_available("aggregation"):
        service = await _service(ctx)
        rate = events / service["seconds"]
        result.update({
            "aggregate_events_per_s": round(rate),
            "ratio_to_baseline": round(rate / result["aggregate_baseline_events_per_s"], 3),
            # CPU time moves less than wall time with what else the 2 cores run
            "aggregate_cpu_us_per_event": _us_per_event(service["cpu_s"], events),
            "cpu_ratio_to_baseline": round(base["cpu_s"] / service["cpu_s"], 3),
            "service": _rounded(service),
            "aggregate_rss_mb_per_100k_persons": round(service["peak_rss_mb"] * 100_000 / conf.persons, 1),
            "rss_baseline_mb_at_ready": round(service["ready_rss_mb"] or 0, 1),
            "aggregate_rss_growth_mb_per_100k_persons": round(
                (service["peak_rss_mb"] - (service["ready_rss_mb"] or 0)) * 100_000 / conf.persons, 1),
        })
        ctx.results["aggregation_worker_holds"] = conf.persons
    else:
        result["aggregate_events_per_s"] = {"skipped": "`citybus serve aggregation` has not landed in this checkout"}
    quix = await _quix(ctx)
    if "skipped" in quix:
        result["aggregate_quixstreams_events_per_s"] = quix
    else:
        quix_rate = events / quix["seconds"]
        result["aggregate_quixstreams_events_per_s"] = round(quix_rate)
        result["quixstreams"] = _rounded(quix)
        result["aggregate_quixstreams_cpu_us_per_event"] = _us_per_event(quix["cpu_s"], events)
        if isinstance(result["aggregate_events_per_s"], int):
            result["ratio_to_quixstreams"] = round(result["aggregate_events_per_s"] / quix_rate, 3)
    checks = [part["verified"] for part in (result.get("service"), result.get("quixstreams")) if part]
    result["verified"] = bool(checks) and all(checks) and base["events"] == events
    ctx.results["aggregate"] = result


def _us_per_event(cpu_s: float, events: int) -> float:
    return round(cpu_s * 1e6 / events, 2) if events else 0.0


def _rounded(values: dict[str, Any]) -> dict[str, Any]:
    return {k: round(v, 2) if isinstance(v, float) else v for k, v in values.items()}
