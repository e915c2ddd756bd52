"""The lag book: ingests sampling rounds and keeps, per partition, the end-offset table and the
evaluation window, and per group a bounded lag-over-time series."""
from __future__ import annotations

from collections import deque
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field

from citybus.domain.lag.estimator import EndOffsetTable
from citybus.domain.lag.evaluator import DEFAULT_WINDOW, evaluate_partition
from citybus.domain.lag.report import GroupReport, LagPoint, LagReport, PartitionReport, roll_up, worst_lag_seconds
from citybus.domain.lag.sample import PartitionSample

__all__ = ["LagBook", "PartitionKey"]

PartitionKey = tuple[str, str, int]  # (group, topic, partition)


@dataclass
class _Track:
    table: EndOffsetTable
    window: deque[PartitionSample]
    latest: PartitionReport | None = None


@dataclass
class _GroupTrack:
    history: deque[LagPoint]
    active: bool | None = None
    keys: set[PartitionKey] = field(default_factory=set)


class LagBook:
    """Per-partition state of the lag monitor.

    `record(samples)` takes one sampling round; by default a round is complete, so partitions
    and groups missing from it are forgotten (a deleted group, a topic no longer consumed),
    except those of `unread_topics` and `unread_groups`: what the round could not read, kept as
    it was.
    `report()` judges the latest state; it needs no clock, times come from the samples.
    `service_levels` maps a group to its `max_lag_seconds`.
    """

    def __init__(
        self,
        *,
        window: int = DEFAULT_WINDOW,
        table_size: int = 60,
        history_points: int = 360,
        service_levels: Mapping[str, float] | None = None,
    ) -> None:
        if window < 2:
            raise ValueError("the evaluation window needs at least 2 samples")
        self.window = window
        self.table_size = table_size
        self.history_points = history_points
        self.service_levels = dict(service_levels or {})
        self._tracks: dict[PartitionKey, _Track] = {}
        self._groups: dict[str, _GroupTrack] = {}

    def record(self, samples: Iterable[PartitionSample], *, complete: bool = True,
               unread_topics: Collection[str] = (), unread_groups: Collection[str] = ()) -> None:
        round_ = list(samples)
        seen = {(s.group, s.topic, s.partition) for s in round_}
        if complete:
            unread = [k for k in self._tracks if k not in seen and k[1] not in unread_topics]
            for key in [k for k in unread if k[0] not in unread_groups]:
                self._forget(key)
        touched: dict[str, int] = {}
        for sample in sorted(round_, key=lambda s: s.at_ms):
            self._ingest(sample)
            touched[sample.group] = max(touched.get(sample.group, sample.at_ms), sample.at_ms)
        for group, at_ms in touched.items():
            self._append_history(group, at_ms)

    def report(self) -> LagReport:
        groups = tuple(self._group_report(name) for name in sorted(self._groups))
        times = [p.at_ms for g in groups for p in g.partitions]
        return LagReport(at_ms=max(times) if times else None, groups=groups)

    def history(self, group: str) -> tuple[LagPoint, ...]:
        track = self._groups.get(group)
        return tuple(track.history) if track else ()

    def _ingest(self, sample: PartitionSample) -> None:
        key = (sample.group, sample.topic, sample.partition)
        track = self._tracks.get(key)
        if track is None:
            track = _Track(EndOffsetTable(self.table_size), deque(maxlen=self.window))
            self._tracks[key] = track
        group = self._groups.setdefault(sample.group, _GroupTrack(deque(maxlen=self.history_points)))
        group.keys.add(key)
        group.active = sample.group_active
        track.table.add(sample.end, sample.at_ms)
        track.window.append(sample)
        lag_seconds = track.table.lag_seconds(sample.position, sample.at_ms)
        verdict = evaluate_partition(
            tuple(track.window),
            window_size=self.window,
            lag_seconds=lag_seconds,
            max_lag_seconds=self.service_levels.get(sample.group),
        )
        track.latest = PartitionReport(
            topic=sample.topic,
            partition=sample.partition,
            committed=sample.committed,
            log_start=sample.log_start,
            end=sample.end,
            lag_messages=sample.lag_messages,
            lag_seconds=lag_seconds,
            status=verdict.status,
            reason=verdict.reason,
            at_ms=sample.at_ms,
        )

    def _partitions(self, group: str) -> list[PartitionReport]:
        keys = self._groups[group].keys
        return [r for k in keys if (r := self._tracks[k].latest) is not None]

    def _append_history(self, group: str, at_ms: int) -> None:
        partitions = self._partitions(group)
        point = LagPoint(at_ms, sum(p.lag_messages for p in partitions), worst_lag_seconds(partitions))
        history = self._groups[group].history
        if history and history[-1].at_ms >= at_ms:
            history[-1] = point
        else:
            history.append(point)

    def _group_report(self, group: str) -> GroupReport:
        track = self._groups[group]
        return roll_up(
            group,
            self._partitions(group),
            max_lag_seconds=self.service_levels.get(group),
            active=track.active,
            history=tuple(track.history),
        )

    def _forget(self, key: PartitionKey) -> None:
        del self._tracks[key]
        group = self._groups.get(key[0])
        if group is not None:
            group.keys.discard(key)
            if not group.keys:
                del self._groups[key[0]]
