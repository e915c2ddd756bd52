"""The orchestrator's HTTP API from the client side: start a migration, follow it to the end."""
from __future__ import annotations

import asyncio
import time
from typing import Any

import aiohttp
from rich.console import Console

from citybus.errors import CitybusError
from citybus.migration.timeline import changes, entry_text, steps_table

__all__ = ["start_migration", "get_migration", "follow_migration"]


async def start_migration(url: str, body: dict[str, Any], patience: float = 60.0) -> dict[str, Any]:
    """POST /migrations; a 400 raises CitybusError with the rule the orchestrator named, and so
    does an orchestrator that cannot be reached or answers something that is not its JSON. A 503
    (a partition being assigned, or the bus did not take the request) is asked again after its
    Retry-After, with the migration_id it names (a repeated request starts nothing twice), for up
    to `patience` seconds."""
    loop = asyncio.get_running_loop()
    give_up = loop.time() + patience
    try:
        async with aiohttp.ClientSession() as session:
            while True:
                async with session.post(f"{url.rstrip('/')}/migrations", json=body) as response:
                    answer = await _json(response, url)
                    if response.status == 503 and loop.time() < give_up:
                        if isinstance(answer, dict) and isinstance(answer.get("migration_id"), str):
                            body = {**body, "migration_id": answer["migration_id"]}
                        await asyncio.sleep(_retry_after(response))
                        continue
                    if response.status >= 400:
                        error = answer.get("error", answer) if isinstance(answer, dict) else answer
                        raise CitybusError(f"migration refused ({response.status}): {error}")
                    return answer
    except aiohttp.ClientError as exc:
        raise CitybusError(f"cannot reach the migration orchestrator at {url}: {exc} (is --url right?)") from exc


def _retry_after(response: aiohttp.ClientResponse) -> float:
    """Seconds the answer asks to wait (1 when it does not say), within 0.1-10."""
    try:
        return min(10.0, max(0.1, float(response.headers.get("Retry-After", "1"))))
    except ValueError:
        return 1.0


async def _json(response: aiohttp.ClientResponse, url: str) -> Any:
    try:
        return await response.json()
    except (aiohttp.ContentTypeError, ValueError) as exc:
        raise CitybusError(f"{url} answered {response.status} {response.content_type}, not the migration "
                           "orchestrator's JSON (is --url right?)") from exc


async def get_migration(url: str, migration_id: str, session: aiohttp.ClientSession | None = None) -> dict | None:
    """GET /migrations/{id}: the view, or None while it is unknown (404) or its partition is
    being assigned (503, the orchestrator's "ask again")."""
    own = session is None
    session = session or aiohttp.ClientSession()
    try:
        async with session.get(f"{url.rstrip('/')}/migrations/{migration_id}") as response:
            if response.status in (404, 503):
                return None
            if response.status >= 400:
                raise CitybusError(f"the orchestrator at {url} answered {response.status} for {migration_id}")
            return await _json(response, url)
    finally:
        if own:
            await session.close()


async def follow_migration(url: str, migration_id: str, console: Console, timeout: float = 600.0,
                           poll_s: float = 0.1, table: bool = True) -> dict[str, Any]:
    """Print each step as it happens until the migration is final; return its last view."""
    started = time.monotonic()
    before: dict[str, Any] | None = None
    unreachable = ""
    async with aiohttp.ClientSession() as session:
        while time.monotonic() - started < timeout:
            try:
                view = await get_migration(url, migration_id, session)
            except aiohttp.ClientConnectionError as exc:  # an orchestrator restarting: its state is kept
                view, unreachable = None, f" (the orchestrator at {url} did not answer: {exc})"
            if view is not None:
                for entry in changes(before, view):
                    console.print(entry_text(entry, time.monotonic() - started, view.get("reason")))
                before = view
                if view["status"] != "IN_PROGRESS":
                    if table:
                        console.print(steps_table(view))
                    return view
            await asyncio.sleep(poll_s)
    raise CitybusError(f"migration {migration_id} not final after {timeout:g} s{unreachable}")
