"""Process settings for a long-running stream worker.

The garbage collector: a worker keeps many long-lived objects (a cache of decoded ledgers,
their records) and makes many short-lived ones per event. With CPython's default thresholds
(a young collection every 700 allocations, full ones as the old generation grows) collections
took about a third of the aggregation worker's time (measured: 200,000 events in-process,
42 us/event with the defaults, 30 us with a young threshold of 50,000, 27 us with the collector
off). A young collection cost about as much at 50,000 allocations as at 1,000,000 (~20 ms on
the 2-core bench machine, most of it spent on what the batch in flight holds), so collecting
every 1,000,000 allocations is what pays: the aggregation worker, 1M events over 100k persons
against the local broker, went from 25,000 to 34,700 events/s (GC 6.3 s -> 1.0 s of the run;
collector off: 31,800), peak RSS unchanged (564 -> 528 MB). Cycles are rare in this code, so
collecting less often loses little memory; what is loaded at start is frozen out of every
collection.

A service on a request's path (the migration orchestrator, the cities) needs short pauses more
than throughput, and its state grows: every relation, reply and saga it keeps is a tracked
object. There a young collection every 1,000,000 allocations scanned up to a million objects
at once (310-318 ms in the simulated cities), and the full collections scanned everything
kept (575-620 ms in the cities, 235-345 ms in the orchestrator, once in a minute or two of
200 migrations/s); each stalled every migration in flight, and they were the migration's p99.
`tune_gc_for_latency` collects the young every 50,000 allocations and freezes what survives
each collection (`FreezeSurvivors`), so no collection scans more than what was made since the
last one: pauses of at most ~35 ms, and p99 at 200/s 78-86 ms instead of 154-160 ms (three 40 s
holds each after a 20 s one, every process of the bench on the 2 cores). Frozen objects are
still freed when their last reference goes; only cycles among them wait: 25 and 77 such
objects of 465,000 and 334,000 frozen after a minute at 200/s (cities, orchestrator), so once
an hour everything is unfrozen and scanned once by the next full collection. The aggregation
worker keeps `tune_gc`: collecting its young every 50,000 allocations cost it a fifth of its
throughput (35,600 -> 28,700 events/s), and freezing survivors changed nothing there.
"""
from __future__ import annotations

import gc
import time
from collections.abc import Callable
from typing import Any

__all__ = ["tune_gc", "tune_gc_for_latency", "FreezeSurvivors", "YOUNG_THRESHOLD", "LATENCY_YOUNG_THRESHOLD",
           "RECLAIM_S"]

YOUNG_THRESHOLD = 1_000_000
LATENCY_YOUNG_THRESHOLD = 50_000
RECLAIM_S = 3600.0


def tune_gc(young: int = YOUNG_THRESHOLD) -> None:
    """Freeze what is loaded now (imports, schemas, catalog) and collect the young generation
    every `young` allocations instead of 700; the older generations keep their ratios."""
    gc.collect()
    gc.freeze()
    _, middle, old = gc.get_threshold()
    gc.set_threshold(young, middle, old)


def tune_gc_for_latency(young: int = LATENCY_YOUNG_THRESHOLD, reclaim_s: float = RECLAIM_S) -> FreezeSurvivors:
    """`tune_gc` with short pauses: young collections every `young` allocations, and what
    survives each collection frozen out of the next ones (see the module's doc)."""
    tune_gc(young)
    policy = FreezeSurvivors(reclaim_s)
    gc.callbacks.append(policy)
    return policy


class FreezeSurvivors:
    """A gc callback: after each collection, freeze what survived it, so that the next
    collection scans only what is newer. Every `reclaim_s` it stops freezing and unfreezes
    everything until a full collection has scanned it all once (cycles among old objects are
    freed there: one long pause per `reclaim_s`), then freezes again."""

    def __init__(self, reclaim_s: float = RECLAIM_S, clock: Callable[[], float] = time.monotonic) -> None:
        self.reclaim_s = reclaim_s
        self._clock = clock
        self._since = clock()
        self.reclaiming = False

    def __call__(self, phase: str, info: dict[str, Any]) -> None:
        if phase != "stop":
            return
        if self.reclaiming:
            if info["generation"] == 2:  # everything has been scanned once
                self.reclaiming = False
                self._since = self._clock()
                gc.freeze()
            return
        if self._clock() - self._since >= self.reclaim_s:
            self.reclaiming = True
            gc.unfreeze()  # into the oldest generation: the next full collection scans it all
            return
        gc.freeze()

    def remove(self) -> None:
        if self in gc.callbacks:
            gc.callbacks.remove(self)
