"""What one sampling round sees of one partition, and the statuses the monitor can give it."""
from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

__all__ = ["PartitionSample", "PartitionStatus", "GroupStatus"]


class PartitionStatus(str, Enum):
    """Burrow's partition statuses; `severity` orders them (STALL, STOP, REWIND are all errors)."""

    OK = "OK"
    WARN = "WARN"
    STALL = "STALL"
    STOP = "STOP"
    REWIND = "REWIND"

    @property
    def severity(self) -> int:
        return _SEVERITY[self]

    @property
    def code(self) -> int:
        """Numeric code for gauges: OK 0, WARN 1, STALL 2, STOP 3, REWIND 4."""
        return _CODE[self]

    @property
    def group_status(self) -> GroupStatus:
        return (GroupStatus.OK, GroupStatus.WARN, GroupStatus.ERR)[self.severity]


class GroupStatus(str, Enum):
    """A group's roll-up: OK < WARN < ERR. `code` is the gauge value: OK 0, WARN 1, ERR 2."""

    OK = "OK"
    WARN = "WARN"
    ERR = "ERR"

    @property
    def code(self) -> int:
        return ("OK", "WARN", "ERR").index(self.value)


_SEVERITY = {
    PartitionStatus.OK: 0,
    PartitionStatus.WARN: 1,
    PartitionStatus.STALL: 2,
    PartitionStatus.STOP: 2,
    PartitionStatus.REWIND: 2,
}
_CODE = {status: i for i, status in enumerate(PartitionStatus)}


@dataclass(frozen=True)
class PartitionSample:
    """One observation of a group's position on one partition.

    `committed` is None when the group has never committed on the partition.
    `last_commit_ms` is when the group last committed on it (from the offsets topic), None when
    no commit was seen since `commits_watched_since_ms` (None: commits are not watched).
    `group_active` says whether the group had live members when sampled
    (True/False from the group's state, None when the collector could not tell).
    The evaluator tells STALL from STOP by the commit times, or by membership where they
    are not known.
    """

    group: str
    topic: str
    partition: int
    committed: int | None
    log_start: int
    end: int
    at_ms: int
    group_active: bool | None = None
    last_commit_ms: int | None = None
    commits_watched_since_ms: int | None = None

    @property
    def lag_messages(self) -> int:
        position = self.log_start if self.committed is None else self.committed
        return max(0, self.end - position)

    @property
    def position(self) -> int:
        """The offset the group will read next: its commit, or the log start when it has none."""
        return self.log_start if self.committed is None else self.committed
