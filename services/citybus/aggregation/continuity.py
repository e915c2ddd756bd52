"""Every offset of every source partition is processed: a guard against events Faust skips.

Faust 0.15.3 was seen to skip events right after an assignment (delivered while its flow
control is suspended during table recovery: skipped, yet acked, so later committed), and to
leave holes it then never commits past. The service therefore keeps its own count: from the
committed offsets the broker reports when partitions are assigned, each partition's events
must arrive without a hole. An event beyond the next expected offset means a hole: the
partition is read again from the first missing offset (applying an event twice changes
nothing), and the expected offset does not move until the hole is filled. A hole is asked
for once (again only after `retry_after` seconds): batches already buffered behind it would
otherwise seek again and again.
"""
from __future__ import annotations

import time
from collections.abc import Callable, Hashable, Iterable, Mapping

__all__ = ["OffsetContinuity"]


class OffsetContinuity:
    def __init__(self, retry_after: float = 10.0, clock: Callable[[], float] = time.monotonic) -> None:
        self._next: dict[Hashable, int] = {}
        self._asked: dict[Hashable, tuple[int, float]] = {}
        self.retry_after = retry_after
        self.clock = clock

    def assigned(self, committed: Mapping[Hashable, int]) -> None:
        """A new assignment: expect each partition's events from its committed offset."""
        self._next = dict(committed)
        self._asked.clear()

    def observe(self, offsets: Iterable[tuple[Hashable, int]]) -> dict[Hashable, int]:
        """Offsets of one batch, in arrival order; returns {partition: offset to read again from}."""
        holes: dict[Hashable, int] = {}
        expected = self._next
        for tp, offset in offsets:
            want = expected.get(tp)
            if want is None or offset == want:
                expected[tp] = offset + 1
                self._asked.pop(tp, None)
            elif offset > want:
                holes.setdefault(tp, want)
            # offset < want: a redelivery, already counted
        now = self.clock()
        for tp, want in list(holes.items()):
            asked = self._asked.get(tp)
            if asked is not None and asked[0] == want and now - asked[1] < self.retry_after:
                del holes[tp]
            else:
                self._asked[tp] = (want, now)
        return holes
