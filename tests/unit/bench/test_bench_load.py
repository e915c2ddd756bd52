"""The migration benchmark's load: a rate held only when every request was taken and ended
COMPLETED in time; a failed, refused or unfinished one is counted and the step not held."""
import asyncio
import time

from aiohttp import web
from aiohttp.test_utils import TestServer

from citybus.bench.migration import Load, _percentile


class Watch:
    """What StatusWatch reads from bus.migration.status: migration_id -> (status, when)."""

    def __init__(self) -> None:
        self.final: dict[str, tuple[str, float]] = {}


def _orchestrator(watch: Watch, *, failed: set[str] = frozenset(), refused: set[str] = frozenset(),
                  stuck: set[str] = frozenset(), late: set[str] = frozenset()) -> web.Application:
    def complete(migration_id: str) -> None:
        watch.final[migration_id] = ("COMPLETED", time.perf_counter())

    async def post(request: web.Request) -> web.Response:
        body = await request.json()
        migration_id = body["migration_id"]
        if migration_id in late:  # past the one-second p99 limit
            asyncio.get_running_loop().call_later(1.1, complete, migration_id)
        elif migration_id not in stuck:
            watch.final[migration_id] = ("FAILED" if migration_id in failed else "COMPLETED", time.perf_counter())
        # a refused one still completes here: the error answer alone must cost the step
        return web.json_response({"migration_id": migration_id}, status=500 if migration_id in refused else 202)

    app = web.Application()
    app.router.add_post("/migrations", post)
    return app


async def _hold(drain_s: float = 0.5, cpu: dict | None = None, **outcomes: set[str]) -> dict:
    watch = Watch()
    async with TestServer(_orchestrator(watch, **outcomes)) as server:
        load = Load(str(server.make_url("")).rstrip("/"), watch, cpu)  # type: ignore[arg-type]
        return await load.hold(rate=100, seconds=0.2, drain_s=drain_s)


async def test_a_rate_whose_every_request_completes_is_held():
    step = await _hold()
    assert (step["requests"], step["completed"], step["not_completed"], step["unfinished"], step["http_errors"]) \
        == (20, 20, 0, 0, 0)
    assert step["held"] and not step["latencies_are_lower_bounds"]
    assert 0 < step["p50_ms"] <= step["p99_ms"]


async def test_one_failed_migration_is_not_a_held_rate():
    step = await _hold(failed={"bench-100-3"})
    assert (step["completed"], step["not_completed"]) == (19, 1)
    assert not step["held"]


async def test_one_refused_request_is_not_a_held_rate():
    step = await _hold(refused={"bench-100-5"})
    assert step["http_errors"] == 1 and step["completed"] == 20
    assert not step["held"]


async def test_an_unfinished_migration_counts_with_its_wait_so_far_and_is_not_held():
    step = await _hold(stuck={"bench-100-7"})
    assert (step["completed"], step["unfinished"]) == (19, 1)
    assert step["latencies_are_lower_bounds"] and not step["held"]
    assert step["p99_ms"] >= 500  # it waited out the drain: its latency is at least that


async def test_a_rate_whose_p99_is_over_a_second_is_not_held():
    step = await _hold(drain_s=3, late={"bench-100-2"})  # 1 of 20: the p99 is that one
    assert (step["completed"], step["unfinished"]) == (20, 0)
    assert step["p99_ms"] >= 1000 and not step["held"]


async def test_each_process_cpu_is_reported_per_migration_and_as_cores_busy():
    readings = {"orchestrator": iter([10.0, 10.1]), "cities": iter([3.0, 3.04])}  # before, after the step
    started = time.perf_counter()
    step = await _hold(cpu={name: (lambda it=it: next(it)) for name, it in readings.items()})
    elapsed = time.perf_counter() - started
    assert step["cpu_ms_per_migration"] == {"orchestrator": 5.0, "cities": 2.0, "all": 7.0}  # 0.1 s, 0.04 s / 20
    cores = step["cores_busy"]
    assert set(cores) == {"orchestrator", "cities", "all"}
    # over the step's own time, from the first request (sent over 0.19 s) to the last final status
    assert 0.1 / elapsed - 0.01 <= cores["orchestrator"] <= 0.1 / 0.19 + 0.01
    assert abs(cores["cities"] - cores["orchestrator"] * 0.4) <= 0.01
    assert abs(cores["all"] - cores["orchestrator"] * 1.4) <= 0.01


async def test_without_cpu_counters_a_step_reports_no_cpu():
    step = await _hold()
    assert "cpu_ms_per_migration" not in step and "cores_busy" not in step


def test_percentiles_are_nearest_rank():
    values = [float(v) for v in range(1, 101)]  # 1..100
    assert _percentile(values, 0.5) == 50
    assert _percentile(values, 0.99) == 99
    assert _percentile(list(reversed(values)), 0.99) == 99  # sorted first
    assert _percentile([7.0], 0.99) == 7
    assert _percentile([], 0.5) == float("inf")
