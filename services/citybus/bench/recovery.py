"""Restart of the aggregation worker holding the run's persons: from its local RocksDB state,
then from the changelog alone (empty data directory). Recovered = every sampled person
(spread over all partitions) answers over HTTP with the independently computed figures."""
from __future__ import annotations

import asyncio
import shutil
import time
from typing import Any

import aiohttp

from citybus.bench.aggregate import AGGREGATION_GROUP, fetch_person, service_available, start_worker
from citybus.bench.broker import list_topics, read_all, wait_group_done
from citybus.bench.context import BenchContext
from citybus.bench.publish import load_events
from citybus.bench.verify import expected_schemes, sample_indexes

__all__ = ["run_recovery"]

_SAMPLE = 36


async def _until_correct(ctx: BenchContext, worker, expected: dict[str, dict]) -> dict[str, float]:  # noqa: ANN001
    """Seconds from launch until the web port answers, and until every sampled person is right."""
    started = time.perf_counter()
    await worker.wait_ready(timeout=600)
    answered = time.perf_counter() - started
    pending = dict(expected)
    async with aiohttp.ClientSession() as session:
        while pending:
            if worker.proc.poll() is not None:
                raise RuntimeError(f"the worker exited while recovering:\n{worker.tail()}")
            if time.perf_counter() - started > 900:
                raise TimeoutError(f"{len(pending)} persons still wrong after 900 s")
            for resident, schemes in list(pending.items()):
                try:
                    status, body = await fetch_person(session, worker.url, resident)
                except (aiohttp.ClientError, asyncio.TimeoutError):
                    continue
                if status == 200 and body["schemes"] == schemes:
                    del pending[resident]
            if pending:
                await asyncio.sleep(0.1)
    return {"answered_s": answered, "recovered_s": time.perf_counter() - started}


async def run_recovery(ctx: BenchContext) -> None:
    if not service_available("aggregation"):
        ctx.results["recovery"] = {"skipped": "`citybus serve aggregation` has not landed in this checkout"}
        return
    conf = ctx.config
    data = ctx.home / "aggregation-data"
    if "aggregation_worker_holds" not in ctx.results:  # the aggregate benchmark did not fill the state
        await load_events(ctx)
        shutil.rmtree(data, ignore_errors=True)
        worker = start_worker(ctx)
        await wait_group_done(ctx.bootstrap, AGGREGATION_GROUP, ctx.contribution_topics)
        ctx.children.stop(worker)
    expected = dict(expected_schemes(conf.seed, conf.persons, conf.events, i)
                    for i in sample_indexes(conf.persons, _SAMPLE))
    expected = {resident: schemes for resident, schemes in expected.items() if schemes}

    worker = start_worker(ctx, "aggregation-restart-local")
    local = await _until_correct(ctx, worker, expected)
    ctx.children.stop(worker)

    shutil.rmtree(data, ignore_errors=True)
    worker = start_worker(ctx, "aggregation-restart-changelog")
    changelog = await _until_correct(ctx, worker, expected)
    ctx.children.stop(worker)

    changelogs = [t for t in await list_topics(ctx.bootstrap)
                  if t.startswith(AGGREGATION_GROUP + "-") and t.endswith("-changelog")]
    read, read_s = await read_all(ctx.bootstrap, changelogs, lambda message: None) if changelogs else (0, 0.0)
    result: dict[str, Any] = {
        "persons": conf.persons,
        "recovery_local_s": round(local["recovered_s"], 2),
        "recovery_changelog_s": round(changelog["recovered_s"], 2),
        "recovery_baseline_s": round(local["answered_s"], 2),
        "recovery_changelog_read_s": round(read_s, 2),
        "changelog_topics": changelogs,
        "changelog_messages": read,
        "web_answered_s": {"local": round(local["answered_s"], 2), "changelog": round(changelog["answered_s"], 2)},
        "checked_persons": len(expected),
        "verified": True,  # _until_correct returns only once every sampled person is right
        "how": "worker stopped (SIGTERM) after the aggregate benchmark, relaunched on the same data directory "
               "(local), then on an empty one (changelog); timed from launch until every sampled person's "
               "HTTP figures equal the independent computation. Baselines: launch until the web port first "
               "answers (recovery_baseline_s), and a bare aiokafka consumer reading every changelog topic "
               "(recovery_changelog_read_s)",
    }
    ctx.results["recovery"] = result
