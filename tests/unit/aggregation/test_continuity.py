"""The service's own count of offsets: a hole in a partition is read again, redeliveries are fine."""
from citybus.aggregation.continuity import OffsetContinuity


def test_contiguous_and_redelivered_offsets_need_nothing():
    guard = OffsetContinuity()
    guard.assigned({"a": 10})
    assert guard.observe([("a", 10), ("a", 11), ("b", 5), ("b", 6)]) == {}
    assert guard.observe([("a", 11), ("a", 12)]) == {}  # a redelivery, then the next one


def test_events_after_a_hole_ask_for_the_first_missing_offset_until_it_is_filled():
    guard = OffsetContinuity()
    guard.assigned({"a": 755})
    assert guard.observe([("a", 785), ("a", 786)]) == {"a": 755}
    assert guard.observe([("a", 787)]) == {}  # asked for already
    assert guard.observe([("a", o) for o in range(755, 790)]) == {}


def test_a_new_assignment_starts_from_the_committed_offsets():
    guard = OffsetContinuity()
    guard.observe([("a", 3)])
    guard.assigned({"a": 100})
    assert guard.observe([("a", 4)]) == {}  # before the committed offset: a redelivery
    assert guard.observe([("a", 101)]) == {"a": 100}


def test_a_hole_is_asked_for_once_until_it_is_filled_or_the_retry_time_passes():
    now = [0.0]
    guard = OffsetContinuity(retry_after=10, clock=lambda: now[0])
    guard.assigned({"a": 5})
    assert guard.observe([("a", 9)]) == {"a": 5}
    assert guard.observe([("a", 10)]) == {}  # buffered behind the hole: already asked
    now[0] = 11.0
    assert guard.observe([("a", 11)]) == {"a": 5}
    assert guard.observe([("a", o) for o in range(5, 12)]) == {}
