"""Prometheus view of the lag monitor, built on demand from the latest `LagReport`.

Served at `/metrics` from its own `CollectorRegistry` (no process/platform collectors).
All are gauges:

| metric | labels | value |
|---|---|---|
| `citybus_lag_messages` | group, topic, partition | log end offset - committed offset (from log start when no commit) |
| `citybus_lag_seconds` | group, topic, partition | estimated lag in time; absent while unknown |
| `citybus_committed_offset` | group, topic, partition | the group's committed offset; absent without a commit |
| `citybus_log_end_offset` | topic, partition | log end offset |
| `citybus_log_start_offset` | topic, partition | log start offset |
| `citybus_partition_status` | group, topic, partition | OK 0, WARN 1, STALL 2, STOP 3, REWIND 4 |
| `citybus_group_status` | group | OK 0, WARN 1, ERR 2 |
| `citybus_group_status_info` | group, status | 1 for the group's current status (OK, WARN, ERR) |
| `citybus_group_lag_messages` | group | sum over the group's partitions |
| `citybus_group_lag_seconds` | group | worst partition's lag in seconds; absent while any lagging partition's is unknown |
| `citybus_group_service_level_seconds` | group | the group's `max_lag_seconds`, when it has one |
| `citybus_lag_sampled_timestamp_seconds` | | when the latest sample was taken (Unix time) |
"""
from __future__ import annotations

from collections.abc import Callable, Iterator

from prometheus_client import CollectorRegistry
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from citybus.domain.lag import LagReport

__all__ = ["LagMetrics", "lag_registry"]

_PARTITION = ["group", "topic", "partition"]


class LagMetrics(Collector):
    """A Prometheus collector reading a fresh report on every scrape."""

    def __init__(self, report: Callable[[], LagReport]) -> None:
        self._report = report

    def collect(self) -> Iterator[Metric]:
        return iter(report_metrics(self._report()))


def lag_registry(report: Callable[[], LagReport]) -> CollectorRegistry:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(LagMetrics(report))
    return registry


def report_metrics(report: LagReport) -> list[Metric]:
    def gauge(name: str, doc: str, labels: list[str]) -> GaugeMetricFamily:
        return GaugeMetricFamily(name, doc, labels=labels)

    lag = gauge("citybus_lag_messages", "Messages the group is behind on the partition.", _PARTITION)
    seconds = gauge("citybus_lag_seconds", "Estimated lag in time on the partition.", _PARTITION)
    committed = gauge("citybus_committed_offset", "The group's committed offset.", _PARTITION)
    end = gauge("citybus_log_end_offset", "Log end offset of the partition.", ["topic", "partition"])
    start = gauge("citybus_log_start_offset", "Log start offset of the partition.", ["topic", "partition"])
    p_status = gauge(
        "citybus_partition_status", "Partition status: OK 0, WARN 1, STALL 2, STOP 3, REWIND 4.", _PARTITION
    )
    g_status = gauge("citybus_group_status", "Group status: OK 0, WARN 1, ERR 2.", ["group"])
    g_info = gauge("citybus_group_status_info", "1 for the group's current status.", ["group", "status"])
    g_lag = gauge("citybus_group_lag_messages", "Messages the group is behind, all partitions.", ["group"])
    g_seconds = gauge("citybus_group_lag_seconds", "The group's worst lag in time.", ["group"])
    g_level = gauge("citybus_group_service_level_seconds", "The group's max_lag_seconds.", ["group"])
    sampled = gauge("citybus_lag_sampled_timestamp_seconds", "When the latest sample was taken.", [])

    logs: dict[tuple[str, str], tuple[int, int, int]] = {}
    for group in report.groups:
        g = group.group
        g_status.add_metric([g], group.status.code)
        g_info.add_metric([g, group.status.value], 1)
        g_lag.add_metric([g], group.lag_messages)
        if group.lag_seconds is not None:
            g_seconds.add_metric([g], group.lag_seconds)
        if group.max_lag_seconds is not None:
            g_level.add_metric([g], group.max_lag_seconds)
        for p in group.partitions:
            labels = [g, p.topic, str(p.partition)]
            lag.add_metric(labels, p.lag_messages)
            if p.lag_seconds is not None:
                seconds.add_metric(labels, p.lag_seconds)
            if p.committed is not None:
                committed.add_metric(labels, p.committed)
            p_status.add_metric(labels, p.status.code)
            key = (p.topic, str(p.partition))
            if key not in logs or logs[key][0] < p.at_ms:
                logs[key] = (p.at_ms, p.log_start, p.end)
    for (topic, partition), (_, log_start, log_end) in sorted(logs.items()):
        end.add_metric([topic, partition], log_end)
        start.add_metric([topic, partition], log_start)
    if report.at_ms is not None:
        sampled.add_metric([], report.at_ms / 1000.0)
    return [lag, seconds, committed, end, start, p_status, g_status, g_info, g_lag, g_seconds, g_level, sampled]
