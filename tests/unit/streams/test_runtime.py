import gc
import weakref

from citybus.streams.runtime import (
    LATENCY_YOUNG_THRESHOLD, YOUNG_THRESHOLD, FreezeSurvivors, tune_gc, tune_gc_for_latency,
)


def test_tune_gc_freezes_what_is_loaded_and_collects_the_young_less_often():
    before = gc.get_threshold()
    try:
        gc.unfreeze()
        tune_gc()
        assert gc.get_freeze_count() > 0
        assert gc.get_threshold() == (YOUNG_THRESHOLD, before[1], before[2])
    finally:
        gc.unfreeze()
        gc.set_threshold(*before)


class _Pair:
    """Two objects in a cycle: only the cyclic collector frees them."""

    def __init__(self) -> None:
        self.other = _Partner(self)


class _Partner:
    def __init__(self, pair: _Pair) -> None:
        self.pair = pair


def _alive(refs: list) -> int:
    return sum(ref() is not None for ref in refs)


class _Clock:
    now = 0.0

    def __call__(self) -> float:
        return self.now


def test_survivors_are_frozen_and_an_hourly_reclaim_frees_the_cycles_among_them():
    before, clock = gc.get_threshold(), _Clock()
    gc.disable()  # the test drives every collection
    policy = FreezeSurvivors(reclaim_s=3600, clock=clock)
    gc.callbacks.append(policy)
    try:
        kept = [_Pair() for _ in range(50)]
        refs = [weakref.ref(pair) for pair in kept]
        gc.collect(0)
        assert gc.get_freeze_count() > 0  # the survivors of that young collection are frozen
        frozen = gc.get_freeze_count()
        kept.clear()  # 50 cycles become garbage while frozen
        gc.collect()
        assert _alive(refs) == 50  # a full collection does not scan what is frozen
        assert gc.get_freeze_count() >= frozen
        clock.now = 3600.0
        gc.collect(0)  # the hour is up: everything unfrozen, nothing frozen until a full collection
        assert policy.reclaiming and gc.get_freeze_count() == 0
        gc.collect(1)
        assert gc.get_freeze_count() == 0 and _alive(refs) == 50
        gc.collect(2)
        assert _alive(refs) == 0 and not policy.reclaiming
        assert gc.get_freeze_count() > 0  # and freezing again
    finally:
        policy.remove()
        gc.unfreeze()
        gc.enable()
        gc.set_threshold(*before)


def test_tune_gc_for_latency_collects_the_young_often_and_installs_the_freezing():
    before = gc.get_threshold()
    policy = None
    try:
        gc.unfreeze()
        policy = tune_gc_for_latency()
        assert gc.get_threshold() == (LATENCY_YOUNG_THRESHOLD, before[1], before[2])
        assert policy in gc.callbacks
    finally:
        if policy is not None:
            policy.remove()
        gc.unfreeze()
        gc.set_threshold(*before)
