import pytest

from citybus.domain.lag import EndOffsetTable


def table(*points: tuple[int, int], size: int = 60) -> EndOffsetTable:
    t = EndOffsetTable(size)
    for end, at_ms in points:
        t.add(end, at_ms)
    return t


STEADY = ((100, 0), (200, 10_000), (300, 20_000))  # 10 messages a second


@pytest.mark.parametrize(
    ("points", "committed", "now_ms", "expected"),
    [
        pytest.param(STEADY, 300, 20_000, 0.0, id="caught-up"),
        pytest.param(STEADY, 350, 20_000, 0.0, id="ahead-of-table-is-caught-up"),
        pytest.param(STEADY, 250, 20_000, 5.0, id="between-points"),
        pytest.param(STEADY, 200, 25_000, 15.0, id="on-a-point"),
        pytest.param(((100, 0), (300, 10_000)), 150, 10_000, 7.5, id="interpolated-within-segment"),
        pytest.param(STEADY, 50, 20_000, 25.0, id="beyond-oldest-extrapolated-with-earliest-rate"),
        pytest.param(((100, 0), (100, 30_000), (400, 40_000)), 100, 40_000, 10.0, id="flat-run-matches-its-last-time"),
        pytest.param(((100, 0), (100, 30_000), (400, 40_000)), 0, 40_000, 43.333, id="beyond-oldest-skips-flat-segment"),
        pytest.param(((100, 0), (200, 10_000), (200, 20_000), (200, 30_000)), 150, 30_000, 25.0,
                     id="flat-run-after-growth-keeps-its-first-point"),
        pytest.param(((100, 0), (100, 30_000)), 40, 30_000, 30.0, id="only-flat-oldest-time-is-lower-bound"),
        pytest.param(((100, 0),), 40, 0, None, id="single-point-too-few"),
        pytest.param(((100, 0),), 100, 5_000, 0.0, id="single-point-caught-up"),
        pytest.param((), 40, 0, None, id="empty"),
    ],
)
def test_lag_seconds(points, committed, now_ms, expected):
    got = table(*points).lag_seconds(committed, now_ms)
    if expected is None:
        assert got is None
    else:
        assert got == pytest.approx(expected, abs=1e-3)


def test_flat_run_keeps_only_first_and_last_point():
    t = table((100, 0), (100, 1_000), (100, 2_000), (100, 3_000), (150, 4_000))
    assert [tuple(p) for p in t.points] == [(100, 0), (100, 3_000), (150, 4_000)]


def test_table_is_bounded_and_drops_oldest():
    t = table(*((i * 10, i * 1_000) for i in range(100)), size=5)
    assert len(t) == 5
    assert t.points[0].offset == 950


@pytest.mark.parametrize("back", [(5, 2_000), (150, 2_000)], ids=["below-the-table", "below-the-latest-only"])
def test_end_offset_going_back_clears_table(back):
    t = table((100, 0), (200, 1_000), back)
    assert [tuple(p) for p in t.points] == [back]


def test_table_needs_two_points_of_room():
    with pytest.raises(ValueError):
        EndOffsetTable(1)
    assert table(*STEADY, size=2).lag_seconds(250, 20_000) == pytest.approx(5.0)


def test_lag_never_negative_when_now_precedes_table():
    assert table(*STEADY).lag_seconds(250, 0) == 0.0
