import pytest

from citybus.domain.lag import (
    GroupStatus,
    LagBook,
    PartitionReport,
    PartitionSample,
    PartitionStatus,
    roll_up,
)


def part(partition, status, lag=10, seconds=1.0, topic="t"):
    return PartitionReport(topic, partition, 0, 0, lag, lag, seconds, status, f"reason {partition}", 0)


@pytest.mark.parametrize(
    ("statuses", "group_status", "reason_part"),
    [
        pytest.param([], GroupStatus.OK, "no committed offsets", id="empty"),
        pytest.param(["OK", "OK"], GroupStatus.OK, "all partitions OK", id="all-ok"),
        pytest.param(["OK", "WARN"], GroupStatus.WARN, "t[1] WARN: reason 1", id="warn"),
        pytest.param(["WARN", "STALL", "OK"], GroupStatus.ERR, "t[1] STALL: reason 1 (+1 more partition not OK)", id="stall-is-err"),
        pytest.param(["STOP", "OK"], GroupStatus.ERR, "t[0] STOP", id="stop-is-err"),
        pytest.param(["REWIND", "WARN", "WARN"], GroupStatus.ERR, "t[0] REWIND: reason 0 (+2 more partitions not OK)", id="rewind-is-err"),
    ],
)
def test_roll_up_takes_worst_partition(statuses, group_status, reason_part):
    report = roll_up("g", [part(i, PartitionStatus(s)) for i, s in enumerate(statuses)])
    assert report.status is group_status
    assert reason_part in report.reason
    # partition statuses are kept under the group's ERR
    assert [p.status.value for p in report.partitions] == statuses


def test_roll_up_figures_and_worst_by_seconds():
    report = roll_up(
        "g",
        # the worst by seconds has fewer messages: the seconds decide, not the messages
        [part(1, PartitionStatus.STALL, lag=7, seconds=3.0), part(0, PartitionStatus.STOP, lag=5, seconds=9.0)],
    )
    assert report.lag_messages == 12
    assert report.lag_seconds == 9.0
    assert [p.partition for p in report.partitions] == [0, 1]
    assert report.reason.startswith("t[0] STOP")
    assert report.worst_partition_status is PartitionStatus.STOP


@pytest.mark.parametrize(
    ("statuses", "lag", "worst", "reason"),
    [
        pytest.param([], 10, "OK", "no committed offsets", id="empty"),
        pytest.param(["OK", "WARN", "OK"], 10, "WARN", "t[1] WARN", id="warn-among-ok"),
        pytest.param(["OK", "OK"], 0, "OK", "caught up", id="all-caught-up"),
    ],
)
def test_roll_up_keeps_the_worst_partition_status(statuses, lag, worst, reason):
    report = roll_up("g", [part(i, PartitionStatus(s), lag=lag) for i, s in enumerate(statuses)])
    assert report.worst_partition_status is PartitionStatus(worst)
    assert reason in report.reason


def feed(book, rounds):
    for r in rounds:
        book.record(r)


def sample(group, partition, committed, end, at_ms, active=True, topic="orders"):
    return PartitionSample(group, topic, partition, committed, 0, end, at_ms, active)


def test_book_judges_each_partition_and_rolls_up():
    book = LagBook(window=4)
    feed(
        book,
        [
            [
                sample("billing", 0, 100 * i, 100 * i, i * 5_000),  # caught up
                sample("billing", 1, 50, 100 + 100 * i, i * 5_000),  # stuck with members
                sample("audit", 0, 10 * i, 100 + 100 * i, i * 5_000),  # falls behind
            ]
            for i in range(4)
        ],
    )
    report = book.report()
    assert [g.group for g in report.groups] == ["audit", "billing"]
    billing = report.group("billing")
    assert billing.status is GroupStatus.ERR
    assert [p.status for p in billing.partitions] == [PartitionStatus.OK, PartitionStatus.STALL]
    assert billing.lag_messages == 400 - 50
    assert report.group("audit").status is GroupStatus.WARN
    assert report.at_ms == 15_000


def test_book_lag_seconds_from_end_offset_table():
    book = LagBook(window=3)
    # producer writes 10 messages a second; consumer stays at 100
    feed(book, [[sample("g", 0, 100, 100 + 50 * i, i * 5_000)] for i in range(4)])
    p = book.report().group("g").partitions[0]
    assert p.lag_messages == 150
    assert p.lag_seconds == pytest.approx(15.0)


def test_book_service_level_breach_is_warn():
    book = LagBook(window=3, service_levels={"g": 8})
    feed(book, [[sample("g", 0, 50 * i, 100 + 50 * i, i * 5_000)] for i in range(4)])
    group = book.report().group("g")
    assert group.max_lag_seconds == 8
    assert group.status is GroupStatus.WARN
    assert "lag 10.0 s breaks the service level of 8 s" in group.reason


def test_book_no_commit_counts_from_log_start():
    book = LagBook(window=3)
    book.record([PartitionSample("g", "t", 0, None, 40, 100, 0, False)])
    p = book.report().group("g").partitions[0]
    assert p.lag_messages == 60 and p.committed is None


def test_history_is_bounded_per_group():
    book = LagBook(window=3, history_points=5)
    feed(book, [[sample("g", 0, 0, i, i * 1_000), sample("g", 1, 0, 2 * i, i * 1_000)] for i in range(20)])
    history = book.history("g")
    assert len(history) == 5
    assert history[-1].at_ms == 19_000
    assert history[-1].lag_messages == 19 + 38
    assert book.report().group("g").history == history


def test_history_has_one_point_per_time_with_the_latest_figures():
    book = LagBook(window=3)
    book.record([sample("g", 0, 0, 10, 1_000)])
    book.record([sample("g", 0, 0, 20, 2_000), sample("g", 1, 0, 5, 1_500)])  # one round, read at two times
    book.record([sample("g", 0, 0, 30, 2_000)], complete=False)  # again at 2 s: replaces that point
    assert [(p.at_ms, p.lag_messages) for p in book.history("g")] == [(1_000, 10), (2_000, 35)]


def test_history_point_takes_the_worst_seconds():
    # both ends grow 0 -> 100 over 10 s; partition 0 is still at offset 0 (10 s behind), partition 1 at 50 (5 s)
    book = LagBook(window=3)
    feed(book, [[sample("g", 0, 0, 0, 0), sample("g", 1, 0, 0, 0)],
                [sample("g", 0, 0, 100, 10_000), sample("g", 1, 50, 100, 10_000)]])
    assert book.history("g")[-1].lag_seconds == pytest.approx(10.0)


def test_complete_round_forgets_missing_partitions_and_groups():
    book = LagBook(window=3)
    book.record([sample("a", 0, 0, 10, 0), sample("a", 1, 0, 10, 0), sample("b", 0, 0, 10, 0)])
    book.record([sample("a", 0, 0, 10, 1_000)])
    report = book.report()
    assert [g.group for g in report.groups] == ["a"]
    assert [p.partition for p in report.group("a").partitions] == [0]
    assert book.history("b") == ()


def test_partial_round_keeps_the_rest():
    book = LagBook(window=3)
    book.record([sample("a", 0, 0, 10, 0), sample("b", 0, 0, 10, 0)])
    book.record([sample("a", 0, 0, 10, 1_000)], complete=False)
    assert [g.group for g in book.report().groups] == ["a", "b"]
    assert book.report().at_ms == 1_000  # the latest sample's time, b's is older


@pytest.mark.parametrize("unread", [{"unread_topics": {"gone"}}, {"unread_groups": {"b"}}], ids=["topic", "group"])
def test_a_complete_round_keeps_the_partitions_it_could_not_read(unread):
    """A topic whose log offsets, or a group whose committed offsets, the collector could not read
    is left out of the round, not gone; the next complete round without it forgets it."""
    book = LagBook(window=3)
    book.record([sample("a", 0, 0, 10, 0), sample("b", 0, 2, 10, 0, topic="gone")])
    book.record([sample("a", 0, 1, 10, 1_000)], **unread)
    assert [g.group for g in book.report().groups] == ["a", "b"]
    assert book.report().group("b").partitions[0].at_ms == 0
    book.record([sample("a", 0, 2, 10, 2_000)])
    assert [g.group for g in book.report().groups] == ["a"]


def test_window_and_table_are_bounded():
    book = LagBook(window=3, table_size=4)
    feed(book, [[sample("g", 0, i, i + 10, i * 1_000)] for i in range(50)])
    track = book._tracks[("g", "orders", 0)]
    assert len(track.window) == 3
    assert len(track.table) == 4


def test_empty_book_reports_nothing():
    assert LagBook().report().groups == ()
    assert LagBook().report().at_ms is None


def test_window_must_hold_two_samples():
    with pytest.raises(ValueError):
        LagBook(window=1)


def test_group_lag_in_time_is_unknown_while_a_lagging_partition_is():
    """The worst of the known partitions alone made a group thousands of messages behind 0.0 s
    (its caught-up partitions), so an alert on citybus_group_lag_seconds stayed quiet."""
    caught_up = part(0, PartitionStatus.OK, lag=0, seconds=0.0)
    report = roll_up("g", [caught_up, part(1, PartitionStatus.OK, lag=5000, seconds=None)])
    assert report.lag_messages == 5000 and report.lag_seconds is None
    assert roll_up("g", [caught_up, part(1, PartitionStatus.OK, lag=0, seconds=None)]).lag_seconds == 0.0


def test_book_group_lag_in_time_is_unknown_after_one_round_of_a_lagging_partition():
    book = LagBook(window=3)
    book.record([sample("g", 0, 100, 100, 0), sample("g", 1, 0, 5000, 0)])  # one end-offset point each
    group = book.report().group("g")
    assert group.lag_messages == 5000 and group.lag_seconds is None
    assert group.history[-1].lag_seconds is None
