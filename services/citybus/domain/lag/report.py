"""What the lag monitor tells operators: per group a status, a reason, figures and history."""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import NamedTuple

from citybus.domain.lag.sample import GroupStatus, PartitionStatus

__all__ = ["LagPoint", "PartitionReport", "GroupReport", "LagReport", "roll_up", "worst_lag_seconds"]


class LagPoint(NamedTuple):
    """One point of a group's lag-over-time series: total messages, worst seconds."""

    at_ms: int
    lag_messages: int
    lag_seconds: float | None


@dataclass(frozen=True)
class PartitionReport:
    topic: str
    partition: int
    committed: int | None
    log_start: int
    end: int
    lag_messages: int
    lag_seconds: float | None
    status: PartitionStatus
    reason: str
    at_ms: int


@dataclass(frozen=True)
class GroupReport:
    group: str
    status: GroupStatus
    reason: str
    lag_messages: int
    lag_seconds: float | None
    max_lag_seconds: float | None
    active: bool | None
    partitions: tuple[PartitionReport, ...]
    history: tuple[LagPoint, ...] = ()

    @property
    def worst_partition_status(self) -> PartitionStatus:
        return max((p.status for p in self.partitions), key=lambda s: s.severity, default=PartitionStatus.OK)


@dataclass(frozen=True)
class LagReport:
    at_ms: int | None
    groups: tuple[GroupReport, ...]

    def group(self, name: str) -> GroupReport:
        for group in self.groups:
            if group.group == name:
                return group
        raise KeyError(name)


def worst_lag_seconds(partitions: Iterable[PartitionReport]) -> float | None:
    """The worst partition's lag in time; unknown (None) while a lagging partition's is unknown.
    The worst of the known ones alone said 0.0 for a group thousands of messages behind whose
    lagging partitions had one end-offset point so far (and the caught-up ones 0)."""
    worst = 0.0
    known = False
    for p in partitions:
        if p.lag_seconds is None:
            if p.lag_messages > 0:
                return None
            continue
        worst, known = max(worst, p.lag_seconds), True
    return worst if known else None


def roll_up(
    group: str,
    partitions: Iterable[PartitionReport],
    *,
    max_lag_seconds: float | None = None,
    active: bool | None = None,
    history: tuple[LagPoint, ...] = (),
) -> GroupReport:
    """A group takes its worst partition's status; STALL, STOP and REWIND show as ERR."""
    ordered = tuple(sorted(partitions, key=lambda p: (p.topic, p.partition)))
    worst = max(
        ordered,
        key=lambda p: (p.status.severity, p.lag_seconds or 0.0, p.lag_messages),
        default=None,
    )
    if worst is None:
        status, reason = GroupStatus.OK, "no committed offsets"
    else:
        status = worst.status.group_status
        if status is GroupStatus.OK:
            reason = "all partitions OK"
            if all(p.lag_messages == 0 for p in ordered):
                reason = "caught up"
        else:
            reason = f"{worst.topic}[{worst.partition}] {worst.status.value}: {worst.reason}"
            others = sum(1 for p in ordered if p.status is not PartitionStatus.OK) - 1
            if others:
                reason += f" (+{others} more partition{'s' if others > 1 else ''} not OK)"
    return GroupReport(
        group=group,
        status=status,
        reason=reason,
        lag_messages=sum(p.lag_messages for p in ordered),
        lag_seconds=worst_lag_seconds(ordered),
        max_lag_seconds=max_lag_seconds,
        active=active,
        partitions=ordered,
        history=history,
    )
