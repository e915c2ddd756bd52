import pytest

from citybus.domain.lag import PartitionSample, PartitionStatus, evaluate_partition

OK, WARN, STALL, STOP, REWIND = (
    PartitionStatus.OK,
    PartitionStatus.WARN,
    PartitionStatus.STALL,
    PartitionStatus.STOP,
    PartitionStatus.REWIND,
)


def series(committed, ends, active=True, step_ms=5_000):
    return [
        PartitionSample("g", "t", 0, c, 0, e, i * step_ms, active)
        for i, (c, e) in enumerate(zip(committed, ends))
    ]


N = 10
GROWING_END = [1_000 + 100 * i for i in range(N)]


@pytest.mark.parametrize(
    ("committed", "ends", "active", "status", "reason_part"),
    [
        pytest.param([100 * i for i in range(N)], [100 * i for i in range(N)], True, OK, "caught up", id="caught-up"),
        pytest.param([20 * i for i in range(N)], [180] * N, True, OK, "caught up", id="caught-up-at-the-end"),
        pytest.param([500 + 100 * i for i in range(N)], [600 + 100 * i for i in range(N)], True, OK, "steady", id="steady-lag-while-committing"),
        pytest.param([10 * i for i in range(N)], [100, 10, 60, 70, 80, 90, 100, 110, 120, 130], True, OK, "reached 0", id="lag-reached-zero"),
        pytest.param([0, 100, 200, 300, 400, 450, 500, 550, 600, 650], [1_000] * N, True, OK, "falling", id="lag-falling"),
        pytest.param([0, 10, 20, 30, 40, 50, 60, 70, 80, 90], GROWING_END, True, WARN, "grew from 1000 to 1810", id="lag-grows-while-committing"),
        pytest.param([0] + [10] * (N - 1), GROWING_END, True, WARN, "grew from 1000 to 1890", id="committed-once-in-the-window-lag-grows"),
        pytest.param([10 * i for i in range(N)], [1_000] + [1_090 + 10 * i for i in range(1, N)], True, WARN,
                     "grew from 1000 to 1090", id="lag-grew-then-held-never-fell"),
        pytest.param([0] * (N - 1) + [10], [1_000] * (N - 1) + [1_100], True, WARN, "grew from 1000 to 1090",
                     id="committed-and-grew-at-the-last-sample-only"),
        pytest.param([10 * i for i in range(N)], [1_000, 1_110, 1_070] + [1_130 + 100 * i for i in range(3, N)], True, OK,
                     "falling", id="lag-fell-once-between-two-samples"),
        pytest.param([None, None, 10, 20, 30, 40, 50, 60, 70, 80], GROWING_END, True, WARN, "grew from 1000 to 1820",
                     id="first-commit-within-the-window-lag-grows"),
        pytest.param([500] * N, GROWING_END, True, STALL, "stuck at 500", id="members-but-offset-stuck"),
        pytest.param([500] * N, [501] * N, True, STALL, "lag 1", id="stuck-one-message-behind"),
        pytest.param([500] * N, GROWING_END, False, STOP, "no members", id="no-members-no-commit"),
        pytest.param([500] * N, [1_000] * N, None, STOP, "membership unknown", id="unknown-membership-no-commit"),
        pytest.param([None] * N, GROWING_END, False, STOP, "no commit yet", id="never-committed"),
        pytest.param([0, 10, 20, 5, 30, 40, 50, 60, 70, 80], GROWING_END, True, REWIND, "from 20 to 5", id="rewind"),
        pytest.param([0, 10, 20, 5, 30, 40, 50, 60, 70, 80], [100 * i for i in range(N)], True, REWIND, "went back", id="rewind-beats-ok"),
    ],
)
def test_status_per_synthetic_series(committed, ends, active, status, reason_part):
    verdict = evaluate_partition(series(committed, ends, active), window_size=N)
    assert verdict.status is status
    assert reason_part in verdict.reason


@pytest.mark.parametrize(
    ("committed", "ends"),
    [
        pytest.param([500] * 5, GROWING_END[:5], id="stuck-but-window-not-full"),
        pytest.param([0, 10, 20, 30, 40], GROWING_END[:5], id="growing-but-window-not-full"),
    ],
)
def test_filling_window_is_ok(committed, ends):
    verdict = evaluate_partition(series(committed, ends), window_size=N)
    assert verdict.status is OK
    assert "filling (5/10)" in verdict.reason


def test_only_the_last_window_counts():
    # an old rewind slid out of the window; the last 10 samples just commit steadily
    committed = [50, 10] + [100 + 10 * i for i in range(N)]
    ends = [200] * 2 + [200 + 10 * i for i in range(N)]
    assert evaluate_partition(series(committed, ends), window_size=N).status is OK


def test_stuck_with_zero_lag_earlier_in_window_is_ok():
    committed = [1_000] * N
    ends = [1_000, 1_000] + [1_000 + 10 * i for i in range(1, N - 1)]
    assert evaluate_partition(series(committed, ends), window_size=N).status is OK


def test_stall_reason_gives_the_span():
    verdict = evaluate_partition(series([500] * N, GROWING_END), window_size=N)
    assert "for 45 s" in verdict.reason and "lag 1400" in verdict.reason
    later = evaluate_partition(series([500] * (N + 2), [1_000] * 2 + GROWING_END), window_size=N)  # 10 s .. 55 s
    assert "for 45 s" in later.reason and "lag 1400" in later.reason


@pytest.mark.parametrize(
    ("committed", "ends", "lag_seconds", "status", "reason_parts"),
    [
        pytest.param([100 * i for i in range(N)], [100 * i for i in range(N)], 0.0, OK, ["caught up"], id="kept"),
        pytest.param([500 + 100 * i for i in range(N)], [600 + 100 * i for i in range(N)], 29.9, OK, ["steady"], id="just-under"),
        pytest.param([500 + 100 * i for i in range(N)], [600 + 100 * i for i in range(N)], 30.0, OK, ["steady"], id="at-the-level"),
        pytest.param([500 + 100 * i for i in range(N)], [600 + 100 * i for i in range(N)], 42.0, WARN, ["lag 42.0 s breaks the service level of 30 s"], id="ok-becomes-warn"),
        pytest.param([500] * N, GROWING_END, 42.0, STALL, ["stuck at 500", "breaks the service level"], id="error-stays-error"),
    ],
)
def test_service_level(committed, ends, lag_seconds, status, reason_parts):
    verdict = evaluate_partition(series(committed, ends), window_size=N, lag_seconds=lag_seconds, max_lag_seconds=30)
    assert verdict.status is status
    for part in reason_parts:
        assert part in verdict.reason


def test_no_samples_is_an_error():
    with pytest.raises(ValueError):
        evaluate_partition([])


@pytest.mark.parametrize(
    ("committed", "log_start", "end", "lag"),
    [(90, 0, 100, 10), (100, 0, 100, 0), (120, 0, 100, 0), (None, 40, 100, 60)],
)
def test_lag_messages(committed, log_start, end, lag):
    assert PartitionSample("g", "t", 0, committed, log_start, end, 0).lag_messages == lag


def watched(last_commit_ms, since_ms, active):
    """A full window (0 .. 45 s) stuck at 500 with lag growing, with commit times known."""
    return [
        PartitionSample("g", "t", 0, 500, 0, e, i * 5_000, active, last_commit_ms, since_ms)
        for i, e in enumerate(GROWING_END)
    ]


@pytest.mark.parametrize(
    ("last_commit_ms", "since_ms", "active", "status", "reason_part"),
    [
        # lag.md: STALL "keeps committing but the committed offset does not move"
        pytest.param(44_000, -60_000, True, STALL, "commits arrive (last 1 s ago)", id="committing-with-members"),
        pytest.param(2_000, -60_000, False, STALL, "commits arrive", id="committing-membership-says-otherwise"),
        pytest.param(0, -60_000, True, STALL, "commits arrive (last 45 s ago)", id="last-commit-at-the-window-start"),
        # lag.md: STOP "no commit for longer than the window spans"
        pytest.param(-5_000, -60_000, True, STOP, "last 50 s ago; members present", id="live-members-not-committing"),
        pytest.param(None, -60_000, True, STOP, "none seen", id="watched-all-window-none-seen"),
        pytest.param(None, 0, True, STOP, "none seen", id="watched-from-the-window-start"),
        # watched for less than the window, nothing seen: membership decides, as without commit times
        pytest.param(None, 10_000, True, STALL, "group has members", id="not-watched-long-enough-members"),
        pytest.param(None, 10_000, False, STOP, "no members", id="not-watched-long-enough-no-members"),
    ],
)
def test_commit_times_tell_stall_from_stop(last_commit_ms, since_ms, active, status, reason_part):
    verdict = evaluate_partition(watched(last_commit_ms, since_ms, active))
    assert verdict.status is status
    assert reason_part in verdict.reason
