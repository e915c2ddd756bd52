"""`citybus serve lag` (the monitor as a service) and `citybus lag` (its table in the terminal)."""
from __future__ import annotations

import asyncio
import contextlib
import fnmatch
import logging
import signal
from dataclasses import replace
from collections.abc import Callable, Sequence

import typer
from aiohttp import web
from rich.live import Live

from citybus.catalog import Catalog, default_catalog
from citybus.console import make_console
from citybus.domain.lag import LagBook, LagReport, PartitionSample, worst_lag_seconds
from citybus.errors import BrokerError, CitybusError
from citybus.kafka.bootstrap import resolve_bootstrap
from citybus.lag.collector import LagCollector
from citybus.lag.table import render_table
from citybus.lag.web import make_lag_app
from citybus.service_logging import configure_service_logging
from citybus.settings import settings

__all__ = ["serve_lag", "lag_command", "service_levels", "group_filter", "check_groups_exist",
           "without_lower_bounds"]

log = logging.getLogger(__name__)
console = make_console()

_GROUP_HELP = "only groups matching this name or glob (repeatable)"


def service_levels(catalog: Catalog) -> dict[str, float]:
    """`max_lag_seconds` per consumer group, for groups of the catalog that have one."""
    return {g.group: g.max_lag_seconds for g in catalog.groups.values() if g.max_lag_seconds is not None}


def group_filter(patterns: Sequence[str]) -> Callable[[str], bool]:
    if not patterns:
        return lambda group: True
    return lambda group: any(fnmatch.fnmatchcase(group, p) for p in patterns)


_NAMED = 10  # groups named in the error, at most


def check_groups_exist(patterns: Sequence[str], listed: Sequence[str], bootstrap: str) -> None:
    """An error naming each --group that matches no consumer group on the cluster: a typo printed
    an empty table captioned "sampled no samples yet", as if the group had nothing to say."""
    missing = [p for p in patterns if not any(fnmatch.fnmatchcase(g, p) for g in listed)]
    if not missing:
        return
    there = ", ".join(listed[:_NAMED]) + (f" and {len(listed) - _NAMED} more" if len(listed) > _NAMED else "")
    raise CitybusError(f"no consumer group {' or '.join(repr(p) for p in missing)} on {bootstrap} "
                       f"({f'groups there: {there}' if listed else 'no consumer group there'})")


def without_lower_bounds(
    report: LagReport, first: Sequence[PartitionSample], second: Sequence[PartitionSample]
) -> tuple[LagReport, int]:
    """The report with lag in time unknown (None) on lagging partitions whose log end did not
    move between two samples: the estimator has only the gap between them to offer, a lower
    bound that says nothing about how long the group has been behind. Also returns their count."""
    ends = {(s.group, s.topic, s.partition): s.end for s in first}
    flat = {(s.group, s.topic, s.partition) for s in second
            if s.lag_messages > 0 and ends.get((s.group, s.topic, s.partition)) == s.end}
    groups = []
    for group in report.groups:
        partitions = tuple(replace(p, lag_seconds=None) if (group.group, p.topic, p.partition) in flat else p
                           for p in group.partitions)
        groups.append(replace(group, partitions=partitions, lag_seconds=worst_lag_seconds(partitions)))
    return replace(report, groups=tuple(groups)), len(flat)


def _book(window: int | None = None) -> LagBook:
    return LagBook(window=window or settings().lag_window, service_levels=service_levels(default_catalog()))


def serve_lag(
    web_port: int = typer.Option(8087, "--web-port", help="HTTP port of /, /metrics and /api/lag (0: any free)"),
    host: str = typer.Option(None, "--host", help="interface to listen on (default: CITYBUS_WEB_HOST)"),
    group: list[str] = typer.Option([], "--group", help=_GROUP_HELP),
) -> None:
    """Sample every consumer group each CITYBUS_LAG_INTERVAL s and serve /, /metrics and /api/lag."""
    conf = settings()
    configure_service_logging(conf.log_level)
    asyncio.run(_serve(host or conf.web_host, web_port, group_filter(group)))


async def _serve(host: str, port: int, include: Callable[[str], bool]) -> None:
    conf = settings()
    bootstrap = resolve_bootstrap()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    collector = LagCollector(bootstrap, book=_book(), interval_s=conf.lag_interval, include_group=include)
    async with collector:
        collector.run_in_background()
        runner = web.AppRunner(make_lag_app(collector), handle_signals=False)
        await runner.setup()
        try:
            site = web.TCPSite(runner, host, port)
            try:
                await site.start()
            except OSError as exc:
                raise BrokerError(f"lag monitor cannot listen on {host}:{port}: {exc}") from exc
            where = ", ".join(f"http://{a[0]}:{a[1]}/" for a in runner.addresses)
            console.print(f"lag monitor on {where} sampling {bootstrap} every {conf.lag_interval:g} s "
                          f"(window {conf.lag_window})", highlight=False)
            await stop.wait()
            console.print("lag monitor stopping", highlight=False)
        finally:
            await runner.cleanup()


def lag_command(
    watch: bool = typer.Option(False, "--watch", help="redraw the table live until Ctrl-C"),
    interval: float = typer.Option(
        None, "--interval", min=0.1,
        help="seconds between samples (default: CITYBUS_LAG_INTERVAL with --watch, else 1)"),
    group: list[str] = typer.Option([], "--group", help=_GROUP_HELP),
    partitions: bool = typer.Option(True, "--partitions/--groups-only", help="also list lagging partitions"),
) -> None:
    """Print the consumer-lag table once (from two samples), or redraw it live with --watch."""
    if watch:  # a group may come later: the table shows it when it does
        with contextlib.suppress(KeyboardInterrupt):
            asyncio.run(_watch(interval or settings().lag_interval, group_filter(group), partitions))
        return
    asyncio.run(_once(interval or 1.0, group, partitions))


async def _once(gap_s: float, patterns: Sequence[str], partitions: bool) -> None:
    book, bootstrap = _book(), resolve_bootstrap()
    async with LagCollector(bootstrap, book=book, include_group=group_filter(patterns)) as collector:
        first = await collector.sample_once()
        check_groups_exist(patterns, collector.listed_groups, bootstrap)
        await asyncio.sleep(gap_s)
        second = await collector.sample_once()
    report, unknown = without_lower_bounds(collector.report(), first, second)
    console.print(render_table(report, partitions=partitions))
    note = (f"from two samples {gap_s:g} s apart: statuses are judged on 2 of {book.window} samples "
            "(`citybus lag --watch` or `citybus serve lag` give Burrow's full verdict)")
    if unknown:
        note += (f"; lag in time unknown (–) on {unknown} lagging partition{'s' if unknown > 1 else ''} "
                 "whose log end did not move meanwhile")
    console.print(f"[dim]{note}[/]", highlight=False)


async def _watch(interval_s: float, include: Callable[[str], bool], partitions: bool) -> None:
    collector = LagCollector(resolve_bootstrap(), book=_book(), interval_s=interval_s, include_group=include)
    async with collector:
        with Live(render_table(collector.report(), partitions=partitions), console=console,
                  auto_refresh=False, screen=False) as live:
            loop = asyncio.get_running_loop()
            while True:
                started = loop.time()
                try:
                    await collector.sample_once()
                except BrokerError as exc:
                    log.warning("lag sampling round skipped: %s", exc)
                live.update(render_table(collector.report(), partitions=partitions), refresh=True)
                await asyncio.sleep(max(0.0, interval_s - (loop.time() - started)))
