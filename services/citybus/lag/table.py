"""The lag report as a rich table, for `citybus lag` (once, or redrawn with rich.live)."""
from __future__ import annotations

from datetime import datetime, timezone

from rich.table import Table
from rich.text import Text

from citybus.domain.lag import GroupStatus, LagReport, PartitionStatus

__all__ = ["render_table", "format_seconds"]

_STYLE = {
    "OK": "bold green",
    "WARN": "bold yellow",
    "ERR": "bold red",
    "STALL": "bold red",
    "STOP": "bold red",
    "REWIND": "bold magenta",
}


def format_seconds(seconds: float | None) -> str:
    if seconds is None:
        return "–"
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, secs = divmod(int(seconds), 60)
    if minutes < 60:
        return f"{minutes} m {secs:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} m"


def _status(status: GroupStatus | PartitionStatus) -> Text:
    return Text(status.value, style=_STYLE[status.value])


def render_table(report: LagReport, *, partitions: bool = True) -> Table:
    """One row per group, then (if `partitions`) one dimmed row per partition not OK or lagging."""
    when = "no samples yet"
    if report.at_ms is not None:
        when = datetime.fromtimestamp(report.at_ms / 1000, tz=timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")
    table = Table(title="citybus consumer lag", caption=f"sampled {when}", expand=False)
    # a table too wide for the terminal folds names and reasons onto more lines; the statuses
    # and numbers (no_wrap) keep their width: a lag count never shows as "30,…"
    table.add_column("group / partition", overflow="fold")
    table.add_column("status", justify="center", no_wrap=True)
    table.add_column("lag (msgs)", justify="right", no_wrap=True)
    table.add_column("lag (time)", justify="right", no_wrap=True)
    table.add_column("SLO", justify="right", no_wrap=True)
    table.add_column("reason", overflow="fold")
    for group in report.groups:
        slo = format_seconds(group.max_lag_seconds) if group.max_lag_seconds is not None else ""
        table.add_row(
            Text(group.group, style="bold"),
            _status(group.status),
            f"{group.lag_messages:,}",
            format_seconds(group.lag_seconds),
            slo,
            group.reason,
        )
        if not partitions:
            continue
        for p in group.partitions:
            if p.status is PartitionStatus.OK and p.lag_messages == 0:
                continue
            table.add_row(
                Text(f"  {p.topic}[{p.partition}]", style="dim"),
                _status(p.status),
                f"{p.lag_messages:,}",
                format_seconds(p.lag_seconds),
                "",
                Text(p.reason, style="dim"),
            )
    return table
