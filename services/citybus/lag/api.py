"""The lag report as JSON, for `/api/lag` and `/api/lag/history`: the one place of that mapping."""
from __future__ import annotations

from typing import Any

from citybus.domain.lag import GroupReport, LagReport, PartitionReport

__all__ = ["report_json", "history_json"]


def report_json(report: LagReport) -> dict[str, Any]:
    return {"at_ms": report.at_ms, "groups": [_group(g) for g in report.groups]}


def history_json(report: LagReport) -> dict[str, Any]:
    """Per group, points as `[at_ms, lag_messages, lag_seconds]` (lag_seconds may be null)."""
    return {
        "at_ms": report.at_ms,
        "groups": {g.group: [[p.at_ms, p.lag_messages, p.lag_seconds] for p in g.history] for g in report.groups},
    }


def _group(group: GroupReport) -> dict[str, Any]:
    return {
        "group": group.group,
        "status": group.status.value,
        "reason": group.reason,
        "lag_messages": group.lag_messages,
        "lag_seconds": group.lag_seconds,
        "max_lag_seconds": group.max_lag_seconds,
        "active": group.active,
        "partitions": [_partition(p) for p in group.partitions],
    }


def _partition(p: PartitionReport) -> dict[str, Any]:
    return {
        "topic": p.topic,
        "partition": p.partition,
        "committed": p.committed,
        "log_start": p.log_start,
        "end": p.end,
        "lag_messages": p.lag_messages,
        "lag_seconds": p.lag_seconds,
        "status": p.status.value,
        "reason": p.reason,
        "at_ms": p.at_ms,
    }
