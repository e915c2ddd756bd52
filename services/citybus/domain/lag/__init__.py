"""Consumer lag, judged: samples, the lag-in-seconds estimator, Burrow's rules and the lag book.

Pure: no Kafka, no clock. The collector in `citybus.lag` feeds `LagBook.record` with one
`PartitionSample` per (group, topic, partition) each sampling round.
"""
from citybus.domain.lag.book import LagBook, PartitionKey
from citybus.domain.lag.estimator import EndOffsetPoint, EndOffsetTable
from citybus.domain.lag.evaluator import DEFAULT_WINDOW, Verdict, evaluate_partition
from citybus.domain.lag.report import GroupReport, LagPoint, LagReport, PartitionReport, roll_up, worst_lag_seconds
from citybus.domain.lag.sample import GroupStatus, PartitionSample, PartitionStatus

__all__ = [
    "DEFAULT_WINDOW",
    "EndOffsetPoint",
    "EndOffsetTable",
    "GroupReport",
    "GroupStatus",
    "LagBook",
    "LagPoint",
    "LagReport",
    "PartitionKey",
    "PartitionReport",
    "PartitionSample",
    "PartitionStatus",
    "Verdict",
    "evaluate_partition",
    "roll_up",
    "worst_lag_seconds",
]
