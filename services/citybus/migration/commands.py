"""`citybus serve migration` (the orchestrator) and `citybus migrate` (one migration, followed live)."""
from __future__ import annotations

import asyncio
from pathlib import Path

import typer

from citybus.console import make_console
from citybus.service_logging import configure_service_logging
from citybus.settings import settings

__all__ = ["serve_migration", "migrate_command", "DEFAULT_PORT"]

DEFAULT_PORT = 8089
console = make_console()


def serve_migration(
    web_port: int = typer.Option(DEFAULT_PORT, "--web-port", help="HTTP port of /migrations"),
    data_dir: Path = typer.Option(None, "--data-dir", help="where the tables live (default: CITYBUS_DATA_DIR)"),
) -> None:
    """Run the migration orchestrator: sagas, deadlines, POST/GET /migrations (CITYBUS_WORKING_DAY sets the clock).

    Workers started with the same broker share the partitions (consumer group citybus-migration);
    give each its own --web-port and --data-dir. SIGTERM stops a worker cleanly."""
    from citybus.migration.service import policy_from_settings, serve

    conf = settings()
    configure_service_logging(conf.log_level)
    policy = policy_from_settings()
    day = "real working days" if policy.working_day_ms is None else f"1 working day = {policy.working_day_ms} ms"
    console.print(f"migration orchestrator on http://{conf.web_host}:{web_port}/migrations ({day}, "
                  f"max_attempts {policy.max_attempts}, data {(data_dir or conf.data_dir) / 'migration'})",
                  highlight=False)
    asyncio.run(serve(web_port, data_dir, policy))


def migrate_command(
    person: str = typer.Option(None, "--person", help="resident_id of the person moving"),
    enterprise: str = typer.Option(None, "--enterprise", help="Unified Social Credit Code of the enterprise moving"),
    from_city: str = typer.Option(..., "--from", help="city code the subject leaves"),
    to_city: str = typer.Option(..., "--to", help="city code the subject moves to"),
    scope: list[str] = typer.Option([], "--scope", help="a scope to move (repeatable; default: every scope)"),
    migration_id: str = typer.Option(None, "--id", help="the migration_id (default: generated)"),
    url: str = typer.Option(f"http://127.0.0.1:{DEFAULT_PORT}", "--url", help="the orchestrator's base URL"),
    timeout: float = typer.Option(600.0, "--timeout", help="give up following after this many seconds"),
) -> None:
    """Start a migration through the HTTP API and follow it live until it is final."""
    from citybus.migration.follow import follow_migration, start_migration

    if (person is None) == (enterprise is None):
        raise typer.BadParameter("give exactly one of --person or --enterprise")
    body = {"subject_type": "PERSON" if person else "ENTERPRISE", "subject_id": person or enterprise,
            "from_city": from_city, "to_city": to_city, "scopes": [s.upper() for s in scope]}
    if migration_id:
        body["migration_id"] = migration_id

    async def run() -> str:
        started = await start_migration(url, body)
        console.print(f"migration [bold]{started['migration_id']}[/] {started['status']}", highlight=False)
        view = await follow_migration(url, started["migration_id"], console, timeout=timeout)
        return view["status"]

    status = asyncio.run(run())
    raise typer.Exit(0 if status == "COMPLETED" else 1)
