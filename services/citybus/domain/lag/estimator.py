"""Lag in seconds, estimated as kafka-lag-exporter does.

Per partition we keep a bounded table of (log end offset, time seen) points. The lag in time
of a group is `now - t(c)`, where `t(c)` is the time at which the log end offset was equal
to the group's committed offset `c`, read off the table by linear interpolation between the
two surrounding points.

- Caught up (`c >= latest end`): 0.
- A flat run (end offset unchanged over several samples) keeps only its first and last point,
  so the table spans as much time as possible; a committed offset equal to a flat run's
  offset is matched at the run's *last* time, the moment the next message was still to come.
- Older than the oldest point: extrapolated backwards with the rate of the earliest segment
  along which the end offset grew. With only flat segments the oldest point's time is used,
  which makes the answer a lower bound. With a single point there is nothing to read: None
  (kafka-lag-exporter's "too few points"), unless caught up.
- The end offset going backwards (topic recreated, records deleted) clears the table.
"""
from __future__ import annotations

from collections import deque
from typing import NamedTuple

__all__ = ["EndOffsetPoint", "EndOffsetTable"]


class EndOffsetPoint(NamedTuple):
    offset: int
    at_ms: int


class EndOffsetTable:
    """Bounded (log end offset, time seen) table of one partition."""

    def __init__(self, size: int = 60) -> None:
        if size < 2:
            raise ValueError("an end-offset table needs room for at least 2 points")
        self._points: deque[EndOffsetPoint] = deque(maxlen=size)

    @property
    def points(self) -> tuple[EndOffsetPoint, ...]:
        return tuple(self._points)

    def __len__(self) -> int:
        return len(self._points)

    def add(self, end: int, at_ms: int) -> None:
        points = self._points
        if points and (end < points[-1].offset or at_ms < points[-1].at_ms):
            points.clear()
        if len(points) >= 2 and points[-1].offset == end == points[-2].offset:
            points[-1] = EndOffsetPoint(end, at_ms)
        else:
            points.append(EndOffsetPoint(end, at_ms))

    def time_at(self, offset: int) -> float | None:
        """When the log end offset was `offset`, in ms; None when the table cannot tell."""
        points = self._points
        if not points:
            return None
        if offset >= points[-1].offset:
            return float(points[-1].at_ms)
        if offset < points[0].offset:
            return self._before_oldest(offset) if len(points) > 1 else None
        for older, newer in zip(points, list(points)[1:]):
            if older.offset <= offset < newer.offset:
                share = (offset - older.offset) / (newer.offset - older.offset)
                return older.at_ms + share * (newer.at_ms - older.at_ms)
        raise AssertionError("unreachable: offset lies within the table")  # pragma: no cover

    def lag_seconds(self, committed: int, now_ms: int) -> float | None:
        """Seconds between `now_ms` and when the end offset was `committed`; 0 when caught up."""
        if self._points and committed >= self._points[-1].offset:
            return 0.0
        seen = self.time_at(committed)
        if seen is None:
            return None
        return max(0.0, (now_ms - seen) / 1000.0)

    def _before_oldest(self, offset: int) -> float:
        points = self._points
        for older, newer in zip(points, list(points)[1:]):
            if newer.offset > older.offset:
                rate = (newer.at_ms - older.at_ms) / (newer.offset - older.offset)
                return points[0].at_ms - (points[0].offset - offset) * rate
        return float(points[0].at_ms)

