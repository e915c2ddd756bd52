"""`citybus demo`."""
from __future__ import annotations

import asyncio

import typer

__all__ = ["demo_command"]


def demo_command(
    persons: int = typer.Option(2000, help="simulated persons with contribution histories"),
    keep: bool = typer.Option(False, help="leave the services running at the end, until Ctrl-C"),
) -> None:
    """Broker, topics, services and simulated cities; publish, aggregate, migrate; show the results."""
    from citybus.demo.run import run_demo

    asyncio.run(run_demo(persons=persons, keep=keep))
