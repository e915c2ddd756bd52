"""The timer's view of the saga table: which subject is due when, on which partition.

In memory only, so it is rebuilt from the table (which holds every deadline) after a start
or a rebalance; the agent keeps it current as it writes. A tick sent is not sent again for
`retick_ms`, so a slow agent is not flooded while its tick waits in the topic.
"""
from __future__ import annotations

from collections.abc import Iterable

__all__ = ["DeadlineIndex"]


class DeadlineIndex:
    def __init__(self, retick_ms: int = 1000) -> None:
        self.retick_ms = retick_ms
        self._due: dict[str, tuple[int, int]] = {}  # subject_id -> (deadline ms, partition)
        self._ticked: dict[str, int] = {}  # subject_id -> when its last tick was sent
        self.stale = True  # rebuild from the table before the next scan

    def __len__(self) -> int:
        return len(self._due)

    def track(self, subject_id: str, partition: int, deadline: int | None) -> None:
        self._ticked.pop(subject_id, None)
        if deadline is None:
            self._due.pop(subject_id, None)
        else:
            self._due[subject_id] = (deadline, partition)

    def rebuild(self, entries: Iterable[tuple[str, int, int | None]]) -> None:
        self._due.clear()
        self._ticked.clear()
        for subject_id, partition, deadline in entries:
            self.track(subject_id, partition, deadline)
        self.stale = False

    def forget(self) -> None:
        """Partitions moved: what this worker owns is read from the table again."""
        self.stale = True

    def due(self, now_ms: int) -> list[tuple[str, int]]:
        """(subject_id, partition) to tick now; each is then left alone for `retick_ms`."""
        ready = []
        for subject_id, (deadline, partition) in self._due.items():
            if deadline <= now_ms and now_ms - self._ticked.get(subject_id, -self.retick_ms) >= self.retick_ms:
                ready.append((subject_id, partition))
                self._ticked[subject_id] = now_ms
        return ready
