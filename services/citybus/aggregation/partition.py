"""Table writes outside Faust's per-event iteration, in the partition of the event they come from."""
from __future__ import annotations

import contextlib
import weakref
from collections.abc import Iterator

from faust.streams import _current_event
from faust.types import EventT

__all__ = ["in_partition_of"]


@contextlib.contextmanager
def in_partition_of(event: EventT) -> Iterator[None]:
    """Faust tables take a write's partition (RocksDB shard and changelog partition) from the
    current event, which `take_events` does not set in the agent's task. A batch holds events
    of many partitions, so each person's reads and writes are made in the context of one of
    that person's own events (same key, so same partition)."""
    token = _current_event.set(weakref.ref(event))
    try:
        yield
    finally:
        _current_event.reset(token)
