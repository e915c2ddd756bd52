"""One bench run: a fresh local broker, the catalog's topics, the chosen benchmarks, the results.

Whatever happens (a failure, Ctrl-C, SIGTERM), every child process and the broker JVM are
stopped before `run_bench` returns or raises.
"""
from __future__ import annotations

import asyncio
import fcntl
import shutil
import signal
import sys
import time
import traceback
from pathlib import Path

from rich.console import Console

from citybus.bench.context import BenchConfig, BenchContext
from citybus.bench.report import machine, now_utc, render, versions, write_results
from citybus.errors import ConfigurationError
from citybus.kafka.local import LocalKafka
from citybus.kafka.topics import apply_topics
from citybus.settings import settings
from citybus.streams.runtime import tune_gc

__all__ = ["run_bench", "unverified"]


def _benches():  # noqa: ANN202 - imported late: each pulls in its own clients
    from citybus.bench.aggregate import run_aggregate
    from citybus.bench.migration import run_migration
    from citybus.bench.publish import load_events, run_publish
    from citybus.bench.recovery import run_recovery

    async def aggregate(ctx: BenchContext) -> None:
        await load_events(ctx)
        await run_aggregate(ctx)

    return {"publish": run_publish, "aggregate": aggregate, "recovery": run_recovery, "migration": run_migration}


async def run_bench(config: BenchConfig, out: Path, command: str) -> dict:
    console = Console()
    home = settings().data_dir / "bench"
    home.mkdir(parents=True, exist_ok=True)
    lock = open(home / "bench.lock", "w")  # noqa: SIM115, ASYNC230 - held until the process ends
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        raise ConfigurationError(f"another `citybus bench` is running with {home}; wait for it, or give this "
                                 "one its own CITYBUS_DATA_DIR") from None
    kafka = LocalKafka(home / "kafka", settings().kafka_lib_dir, nodes=1, heap="1g")
    kafka.down()  # a broker left by a killed earlier run
    for stale in ("data", "aggregation-data", "quix-state", "migration-data", "logs"):
        shutil.rmtree(home / stale, ignore_errors=True)
    results: dict = {"date": now_utc(), "command": command, "quick": config.quick,
                     "size": {"persons": config.persons, "events": config.events, "seed": config.seed},
                     "machine": machine(), "versions": versions(config.quix_python)}
    started = time.perf_counter()
    # the bench process's own readers (the bare-consumer baseline, the status watcher) collect
    # garbage as the services do, whichever benchmarks run (the publish benchmark tunes it
    # again once its records are built, to freeze them)
    tune_gc()
    ctx: BenchContext | None = None
    loop = asyncio.get_running_loop()
    task = asyncio.current_task()
    assert task is not None  # this coroutine's own
    loop.add_signal_handler(signal.SIGTERM, task.cancel)
    try:
        console.print("starting a single-node Kafka (KRaft) ...")
        info = await asyncio.to_thread(kafka.up)  # up() runs its own event loop
        await apply_topics(info.bootstrap, _catalog())
        ctx = BenchContext(config, info.bootstrap, home, broker_pids=tuple(info.pids))
        benches = _benches()
        for name in config.only:
            console.print(f"[bold]{name}[/] ...")
            begun = time.perf_counter()
            try:
                await benches[name](ctx)
            except Exception as exc:  # noqa: BLE001 - one benchmark failing still reports the others
                ctx.results[name] = {"skipped": f"failed: {type(exc).__name__}: {exc}"[:2000]}
                traceback.print_exc(file=sys.stderr)
            ctx.results.setdefault(name, {})["bench_seconds"] = round(time.perf_counter() - begun, 1)
        for name, part in ctx.results.items():
            results[name] = part
        results["duration_s"] = round(time.perf_counter() - started, 1)
        failed = unverified(ctx.results, config.only)
        results["verified"] = not failed
        if failed:
            results["unverified"] = failed
        write_results(out, results)
        render(results, console)
        console.print(f"wrote {out} in {results['duration_s']:.0f} s", highlight=False)
        if failed:
            console.print(f"[red]not verified[/]: {', '.join(failed)} (failed, skipped, or figures that do not "
                          "match the independent computation; see each one in the results)")
        return results
    finally:
        loop.remove_signal_handler(signal.SIGTERM)
        if ctx is not None:
            ctx.children.stop_all()
        kafka.down()


def unverified(parts: dict, only: tuple[str, ...]) -> list[str]:
    """The benchmarks of `only` that did not verify their figures: a failed or skipped one verified
    nothing, so a run is `verified` only when every benchmark it ran is."""
    return [name for name in only if not (isinstance(parts.get(name), dict) and parts[name].get("verified") is True)]


def _catalog():  # noqa: ANN202
    from citybus.catalog import default_catalog

    return default_catalog()
