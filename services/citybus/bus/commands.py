"""`citybus publish`: a city imports a JSON Lines file of its events onto the bus."""
from __future__ import annotations

import asyncio
import os
from collections.abc import Iterator
from pathlib import Path

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TransferSpeedColumn

from citybus.bus.jsonl import BadLine, read_events
from citybus.bus.publisher import CityPublisher, PreparedEvent, city_producer
from citybus.catalog import default_catalog
from citybus.console import make_console
from citybus.kafka.bootstrap import resolve_bootstrap
from citybus.streams.runtime import tune_gc

__all__ = ["publish_command"]


def publish_command(
    file: Path = typer.Argument(..., exists=True, dir_okay=False, help="JSON Lines, one event per line"),
    city: str = typer.Option(..., "--city", help="the publishing city's 6-digit code"),
    record_type: str = typer.Option(None, "--type", help="record type of lines without a `type` member, "
                                    "e.g. ContributionRecorded"),
    system: str = typer.Option("import", help="the city system named in ce_source"),
) -> None:
    """Publish a city's events; bad lines are reported (line, field, rule) and skipped. Exit 1 if any."""
    # the summary is the command's result (stdout); bad lines and the progress bar are
    # diagnostics (stderr): `citybus publish ... > summary.txt 2> bad-lines.txt` keeps them apart
    sent, bad = asyncio.run(_publish(file, city, record_type, system, make_console(stderr=True)))
    make_console().print(f"published {sent} events from {file.name} to the bus as city {city}; {bad} bad lines",
                  highlight=False)
    if bad:
        raise typer.Exit(1)


async def _publish(file: Path, city: str, record_type: str | None, system: str, console: Console) -> tuple[int, int]:
    producer = city_producer(resolve_bootstrap())
    bad = 0
    try:
        publisher = CityPublisher(default_catalog(), city, producer, system=system)  # checks the city
        await producer.start()  # inside: a producer that could not reach the broker is closed too
        # read as bytes: a line that is not UTF-8 is reported as bad (decoding the whole file
        # as text stopped at the first one with a traceback); raw.tell() feeds the progress bar
        with file.open("rb") as raw, Progress(
            TextColumn("[bold]publishing"), BarColumn(), TransferSpeedColumn(), TextColumn("{task.fields[n]} prepared"),
            console=console, transient=True, disable=not console.is_terminal,
        ) as progress:
            task = progress.add_task("", total=os.path.getsize(file), n=0)  # noqa: ASYNC240 - one stat

            def good_events() -> Iterator[PreparedEvent]:
                """The file's good events, for the batch path; bad lines reported on the way."""
                nonlocal bad
                prepared = 0
                for item in read_events(raw, publisher, record_type):
                    if isinstance(item, BadLine):
                        bad += 1
                        console.print(f"[red]bad[/] {item}", highlight=False)
                        continue
                    prepared += 1
                    if prepared % 10000 == 0:
                        progress.update(task, completed=raw.tell() if raw.seekable() else 0, n=prepared)
                    yield item

            tune_gc()  # many short-lived objects per event, few cycles (see citybus.streams.runtime)
            sent = await publisher.publish_many(good_events())
    finally:
        await producer.stop()
    return sent, bad
