"""`citybus serve aggregation`: one worker of the aggregation service, in the foreground."""
from __future__ import annotations

import logging
from pathlib import Path

import typer

from citybus.settings import settings

__all__ = ["serve_aggregation"]


def serve_aggregation(
    web_port: int = typer.Option(6066, "--web-port", help="HTTP port of /contributions and /retirements"),
    data_dir: Path = typer.Option(None, "--data-dir", help="state directory (default: CITYBUS_DATA_DIR); "
                                  "give each worker on one machine its own"),
    cache_persons: int = typer.Option(20000, "--cache-persons", help="ledgers kept decoded in memory"),
) -> None:
    """Aggregate every city's contribution records and retirement requests (contributions.md).

    Workers started with the same broker share the partitions (consumer group citybus-aggregation);
    any worker answers any HTTP query."""
    import faust

    from citybus.aggregation.service import build_app

    level = settings().log_level.upper()
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    app = build_app(web_port=web_port, data_dir=data_dir, cache_persons=cache_persons)
    worker = faust.Worker(app, loglevel=level, quiet=True, redirect_stdouts=False)
    worker.execute_from_commandline()
