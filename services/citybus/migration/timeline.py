"""A migration as a timeline of steps: what changed between two GET views, and how to show it."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from rich.table import Table
from rich.text import Text

__all__ = ["TimelineEntry", "changes", "entry_text", "steps_table"]

_STYLE = {
    "DONE": "green", "COMPLETED": "bold green", "SENT": "cyan", "IN_PROGRESS": "cyan", "PENDING": "dim",
    "REJECTED": "red", "FAILED": "red", "TIMED_OUT": "yellow", "REVERTING": "yellow", "REVERTED": "magenta",
    "NEEDS_ATTENTION": "bold red", "PARTIAL": "bold yellow",
}


@dataclass(frozen=True)
class TimelineEntry:
    scope: str | None  # None: the migration as a whole
    step: str | None
    city: str | None
    status: str
    attempts: int = 0


def _steps(view: dict[str, Any] | None) -> dict[tuple[str, str], dict[str, Any]]:
    if not view:
        return {}
    return {(scope, s["step"]): s for scope, body in view["scopes"].items() for s in body["steps"]}


def changes(before: dict[str, Any] | None, after: dict[str, Any]) -> list[TimelineEntry]:
    """Steps that moved (a send, a re-send, an answer), scopes that changed status, then the migration."""
    entries: list[TimelineEntry] = []
    old_steps = _steps(before)
    for (scope, step), now in _steps(after).items():
        was = old_steps.get((scope, step), {"status": "PENDING", "attempts": 0})
        if (was["status"], was["attempts"]) != (now["status"], now["attempts"]) and now["status"] != "PENDING":
            entries.append(TimelineEntry(scope, step, now["city"], now["status"], now["attempts"]))
    old_scopes = (before or {}).get("scopes", {})
    for scope, body in after["scopes"].items():
        if old_scopes.get(scope, {}).get("status") != body["status"] and body["status"] not in ("PENDING",):
            entries.append(TimelineEntry(scope, None, None, body["status"]))
    if (before or {}).get("status") != after["status"]:
        entries.append(TimelineEntry(None, None, None, after["status"]))
    return entries


def entry_text(entry: TimelineEntry, elapsed_s: float, reason: str | None = None) -> Text:
    text = Text(f"{elapsed_s:7.2f}s  ", style="dim")
    style = _STYLE.get(entry.status, "")
    if entry.scope is None:
        text.append("migration ", style="bold")
        text.append(entry.status, style=style)
        if reason:
            text.append(f"  {reason}", style="dim")
        return text
    text.append(f"{entry.scope:<17}", style="bold")
    if entry.step is None:
        text.append("→ ")
        text.append(entry.status, style=style)
        return text
    text.append(f"{entry.step:<13}@{entry.city}  ")
    text.append(entry.status, style=style)
    if entry.status == "SENT" and entry.attempts > 1:
        text.append(f" (attempt {entry.attempts})", style="yellow")
    return text


def steps_table(view: dict[str, Any]) -> Table:
    table = Table(title=f"{view['migration_id']}  {view['subject_type']} {view['subject_id']}  "
                        f"{view['from_city']} → {view['to_city']}", title_justify="left")
    table.add_column("scope", style="bold")
    table.add_column("status")
    table.add_column("steps (status × attempts @city)")
    for scope, body in view["scopes"].items():
        steps = Text()
        for i, s in enumerate(body["steps"]):
            if i:
                steps.append("  ›  ", style="dim")
            steps.append(f"{s['step']} ")
            steps.append(s["status"], style=_STYLE.get(s["status"], ""))
            steps.append(f"×{s['attempts']} @{s['city']}", style="dim")
        table.add_row(scope, Text(body["status"], style=_STYLE.get(body["status"], "")), steps)
    status = Text(view["status"], style=_STYLE.get(view["status"], ""))
    if view.get("reason"):
        status.append(f"  {view['reason']}", style="dim")
    table.caption = status
    return table
