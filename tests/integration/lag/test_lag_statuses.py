"""Burrow's statuses as the collector sees real groups on the real broker: STOP, recovery, STALL,
and STOP for a group whose members stay but never commit (commit times from __consumer_offsets)."""
import asyncio
import time

import pytest
from aiokafka import TopicPartition

from citybus.domain.lag import GroupStatus, LagBook, LagReport, PartitionReport, PartitionStatus
from citybus.lag import LagCollector
from lag_support import GroupMember, SteadyProducer, create_topic, produce, sample_until, unique

pytestmark = pytest.mark.integration

INTERVAL = 0.3
WINDOW = 5


def _partitions(reports: list[LagReport], group: str) -> list[PartitionReport]:
    """The group's partition 0 in every report that has the group."""
    return [g.partitions[0] for r in reports for g in r.groups if g.group == group]


def collector_for(bootstrap: str, group: str) -> LagCollector:
    return LagCollector(bootstrap, book=LagBook(window=WINDOW), interval_s=INTERVAL,
                        include_group=lambda g: g == group)


@pytest.mark.timeout(90)
async def test_a_stopped_group_turns_stop_then_ok_again_once_it_catches_up(kafka_bootstrap):
    topic, group = unique("stop"), unique("stop-group")
    await create_topic(kafka_bootstrap, topic)
    async with SteadyProducer(kafka_bootstrap, topic, period_s=0.05) as producer, \
            collector_for(kafka_bootstrap, group) as collector:
        member = await GroupMember(kafka_bootstrap, group, topic).start()
        await member.wait_committed(1)

        # consuming and committing as fast as the producer writes: OK, with members
        rounds: list[LagReport] = []  # every round from here on
        running = await sample_until(collector, group, lambda g: g.status is GroupStatus.OK and g.active,
                                     interval_s=INTERVAL, timeout_s=15, seen=rounds)
        assert running.partitions[0].status is PartitionStatus.OK
        # it commits past the end offset of the group's first round: the book holds a round from
        # before its last commit, so the offset it stops at is read off the table, not extrapolated
        await member.wait_committed(_partitions(rounds, group)[0].end + 1)

        # the consumer goes away, the producer goes on
        await member.stop()
        trail: list[LagReport] = []
        stopped = await sample_until(
            collector, group, lambda g: g.partitions[0].status is PartitionStatus.STOP,
            interval_s=INTERVAL, timeout_s=20, seen=trail)
        assert stopped.status is GroupStatus.ERR
        assert stopped.active is False
        assert "no commit" in stopped.partitions[0].reason and "no members" in stopped.partitions[0].reason
        # not before the window has seen the commit frozen for WINDOW samples: all of them after
        # the stop but the sample that found it running, which may already hold the last commit
        # (it failed once as >= WINDOW on a busy machine: 4 samples after the stop)
        assert len(trail) >= WINDOW - 1

        after = [r.group(group) for r in trail]
        assert len({g.partitions[0].committed for g in after}) == 1, "the stopped group's offset moved"
        seconds = [g.lag_seconds for g in after if g.lag_seconds is not None]
        assert len(seconds) >= WINDOW - 1
        assert all(b >= a for a, b in zip(seconds, seconds[1:])), f"lag_seconds did not grow: {seconds}"
        # behind, it falls back one second per second of the rounds' own clock (lag_seconds is
        # at_ms minus when the end offset reached the committed offset, a time that stays put)
        behind = [p for p in (g.partitions[0] for g in after) if p.lag_seconds]
        assert behind, f"never behind: {after}"
        fell_behind_at = [p.at_ms / 1000 - p.lag_seconds for p in behind]
        assert max(fell_behind_at) - min(fell_behind_at) <= 0.002, fell_behind_at
        # that time is when the end offset reached the committed offset, interpolated (lag.md) between
        # the last round that saw the end offset at most there and the next (every round is in `seen`)
        c = stopped.partitions[0].committed
        seen = _partitions(rounds + trail, group)
        at_c = [p for p in seen if p.end <= c][-1]
        past_c = [p for p in seen if p.end > c][0]
        reached = at_c.at_ms + (c - at_c.end) / (past_c.end - at_c.end) * (past_c.at_ms - at_c.at_ms)
        assert behind[-1].lag_seconds == pytest.approx((behind[-1].at_ms - reached) / 1000, abs=0.001), \
            (behind[-1], at_c, past_c)
        assert after[-1].lag_messages > after[0].lag_messages

        # it comes back and catches up, producer still running: OK again
        stopped_end, stopped_at_ms = stopped.partitions[0].end, stopped.partitions[0].at_ms
        resumed = await GroupMember(kafka_bootstrap, group, topic).start()
        try:
            back = await sample_until(
                collector, group, lambda g: g.status is GroupStatus.OK and g.partitions[0].committed >= stopped_end,
                interval_s=INTERVAL, timeout_s=20)
            assert back.partitions[0].status is PartitionStatus.OK
            assert back.active is True
            assert back.partitions[0].committed > stopped.partitions[0].committed
            # past every message that was on the log at the STOP round: behind by less than the time since
            assert back.lag_seconds is not None
            assert back.lag_seconds <= (back.partitions[0].at_ms - stopped_at_ms) / 1000 + 0.001
        finally:
            await resumed.stop()
        assert producer.sent


@pytest.mark.timeout(60)
async def test_a_group_committing_the_same_offset_with_live_members_is_stall(kafka_bootstrap):
    topic, group = unique("stall"), unique("stall-group")
    await create_topic(kafka_bootstrap, topic)
    await produce(kafka_bootstrap, topic, 30)
    member = GroupMember(kafka_bootstrap, group, topic)
    consumer = member.consumer
    await consumer.start()
    tp = TopicPartition(topic, 0)

    async def commit_stuck_offset() -> None:
        # a live member that "processes" nothing: it commits offset 5 again and again
        while True:
            await consumer.commit({tp: 5})
            await asyncio.sleep(0.2)

    try:
        deadline = time.monotonic() + 20
        while tp not in consumer.assignment():
            assert time.monotonic() < deadline, "no partition assigned"
            await consumer.getmany(timeout_ms=100)
        committing = asyncio.create_task(commit_stuck_offset())
        async with collector_for(kafka_bootstrap, group) as collector:
            trail = []
            stalled = await sample_until(
                collector, group, lambda g: g.partitions[0].status is not PartitionStatus.OK,
                interval_s=INTERVAL, timeout_s=15, seen=trail)
        committing.cancel()
        partition = stalled.partitions[0]
        assert partition.status is PartitionStatus.STALL, partition.reason
        assert stalled.status is GroupStatus.ERR
        assert stalled.active is True
        assert (partition.committed, partition.lag_messages) == (5, 25)
        assert "stuck at 5" in partition.reason
        assert "commits arrive" in partition.reason  # seen in __consumer_offsets, not assumed from members
        assert len(trail) >= WINDOW  # judged only on a full window
    finally:
        await consumer.stop()


@pytest.mark.timeout(60)
@pytest.mark.parametrize(("commit_at", "lag", "reason_parts"), [
    # judged by membership alone (before commit times were read), this group was STALL
    pytest.param(5, 25, ("committed offset stuck at 5", "no commit for", "members present"), id="stopped-committing"),
    # before the assigned topics were sampled, this group was not seen at all
    pytest.param(None, 30, ("no commit yet", "none seen; members present"), id="never-committed"),
])
async def test_a_group_whose_live_members_do_not_commit_for_a_window_is_stop(kafka_bootstrap, commit_at, lag,
                                                                            reason_parts):
    """lag.md: STOP is "no commit for longer than the window spans while lag > 0", members or not;
    and every group is watched, also one that has not committed yet (its members' assigned
    partitions, lag from the log start)."""
    topic, group = unique("silent"), unique("silent-group")
    await create_topic(kafka_bootstrap, topic)
    await produce(kafka_bootstrap, topic, 30)
    consumer = GroupMember(kafka_bootstrap, group, topic).consumer
    await consumer.start()  # joins and polls; commits at most once, before the window
    tp = TopicPartition(topic, 0)
    polling = None
    try:
        deadline = time.monotonic() + 20
        while tp not in consumer.assignment():
            assert time.monotonic() < deadline, "no partition assigned"
            await consumer.getmany(timeout_ms=100)
        if commit_at is not None:
            await consumer.commit({tp: commit_at})

        async def poll() -> None:
            while True:
                await consumer.getmany(timeout_ms=100)

        polling = asyncio.create_task(poll())
        async with collector_for(kafka_bootstrap, group) as collector:
            deadline = time.monotonic() + 20
            while collector.commits.since_ms is None:  # commits are watched from here on
                assert time.monotonic() < deadline, "the commit watch did not start"
                await asyncio.sleep(0.1)
            trail = []
            judged = await sample_until(
                collector, group, lambda g: g.partitions[0].status is not PartitionStatus.OK,
                interval_s=INTERVAL, timeout_s=15, seen=trail)
        partition = judged.partitions[0]
        assert partition.status is PartitionStatus.STOP, partition.reason
        assert judged.active is True and judged.status is GroupStatus.ERR
        assert (partition.committed, partition.lag_messages) == (commit_at, lag)
        assert all(part in partition.reason for part in reason_parts), partition.reason
        assert len(trail) >= WINDOW
    finally:
        if polling is not None:
            polling.cancel()
        await consumer.stop()
