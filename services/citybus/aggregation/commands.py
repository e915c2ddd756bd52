"""`citybus serve aggregation`: one worker of the aggregation service, in the foreground."""
from __future__ import annotations

import asyncio
from pathlib import Path

import typer

from citybus.service_logging import configure_service_logging
from citybus.settings import settings

__all__ = ["serve_aggregation"]


def serve_aggregation(
    web_port: int = typer.Option(6066, "--web-port", help="HTTP port of /contributions and /retirements"),
    data_dir: Path = typer.Option(None, "--data-dir", help="state directory (default: CITYBUS_DATA_DIR); "
                                  "give each worker on one machine its own"),
    cache_persons: int = typer.Option(20000, "--cache-persons", help="ledgers kept decoded in memory"),
    max_records: int = typer.Option(20000, "--max-records", help="most events applied in one batch"),
) -> None:
    """Aggregate every city's contribution records and retirement requests (contributions.md).

    Workers started with the same broker share the partitions (consumer group citybus-aggregation);
    any worker answers any HTTP query. SIGTERM stops a worker cleanly."""
    from citybus.aggregation.service import serve

    configure_service_logging(settings().log_level)
    asyncio.run(serve(web_port, data_dir, cache_persons, max_records))
