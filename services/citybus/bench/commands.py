"""`citybus bench`."""
from __future__ import annotations

import asyncio
import shlex
import sys
from pathlib import Path

import typer

from citybus.errors import ConfigurationError

__all__ = ["bench_command"]


def bench_command(
    persons: int = typer.Option(None, help="persons in the contribution history [full 100,000; quick 20,000]"),
    events: int = typer.Option(None, help="contribution events [full 1,000,000; quick 200,000]"),
    only: str = typer.Option("publish,aggregate,recovery,migration", help="comma-separated benchmarks to run"),
    quick: bool = typer.Option(False, help="a 2-3 minute run: fewer events, short migration holds"),
    migration_hold: float = typer.Option(None, help="seconds each migration rate is held [full 60; quick 8]"),
    migration_from: float = typer.Option(5.0, help="the first migration rate (per second) the search holds; it "
                                                   "doubles from there"),
    migration_steps: int = typer.Option(None, help="the most rates the migration search holds before the steady "
                                                   "one [full 6; quick 5]"),
    out: Path = typer.Option(Path("bench/results.json"), help="where the results go"),
    quix_python: Path = typer.Option(None, help="python of the quixstreams virtualenv "
                                                "[.citybus/bench/quix-venv/bin/python]"),
) -> None:
    """Throughput, latency, recovery and memory against a local broker; each figure with a baseline."""
    from citybus.bench.context import BENCHES, QUIX_PYTHON, BenchConfig
    from citybus.bench.run import run_bench
    from citybus.settings import REPO_ROOT

    chosen = tuple(name.strip() for name in only.split(",") if name.strip())
    unknown = [name for name in chosen if name not in BENCHES]
    if unknown:
        raise ConfigurationError(f"--only: unknown benchmark(s) {unknown}; choose from {', '.join(BENCHES)}")
    if migration_from <= 0 or (migration_steps is not None and migration_steps < 0):
        raise ConfigurationError("--migration-from must be above 0 and --migration-steps at least 0")
    config = BenchConfig(
        persons=persons or (20_000 if quick else 100_000),
        events=events or (200_000 if quick else 1_000_000),
        only=tuple(name for name in BENCHES if name in chosen),
        quick=quick,
        migration_hold_s=migration_hold or (8.0 if quick else 60.0),
        migration_max_steps=migration_steps if migration_steps is not None else (5 if quick else 6),
        migration_search_from=migration_from,
        migration_drain_s=20.0 if quick else 60.0,
        verify_sample=100 if quick else 300,
        quix_python=quix_python or REPO_ROOT / QUIX_PYTHON,
    )
    if config.events < config.persons:
        raise ConfigurationError("--events must be at least --persons (every person has an event)")
    command = "citybus bench " + " ".join(shlex.quote(a) for a in sys.argv[2:])
    results = asyncio.run(run_bench(config, out, command.strip()))
    if not results["verified"]:  # written and printed all the same, with what did not verify
        raise typer.Exit(1)
