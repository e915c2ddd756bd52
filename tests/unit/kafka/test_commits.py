"""Offsets committed at a pace: nothing done is left uncommitted once flushed, no commit goes
backwards, and no more than one commit per interval while batches keep coming."""
from __future__ import annotations

import pytest
from aiokafka import TopicPartition

from citybus.kafka.commits import PacedCommits

A, B = TopicPartition("t", 0), TopicPartition("t", 1)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def paced(interval: float = 1.0):
    clock, calls = Clock(), []

    async def commit(offsets):
        calls.append(offsets)

    return PacedCommits(commit, interval, clock), clock, calls


async def test_the_first_batch_is_committed_at_once_and_later_ones_wait_for_the_interval() -> None:
    commits, clock, calls = paced()
    await commits.done({A: 5})
    await commits.done({A: 9, B: 3})
    clock.now += 0.5
    await commits.done({B: 4})
    assert calls == [{A: 5}]
    assert commits.pending == {A: 9, B: 4}
    clock.now += 0.5
    await commits.done({A: 12})
    assert calls == [{A: 5}, {A: 12, B: 4}]  # the latest offset of each partition, merged
    assert commits.pending == {}


async def test_an_idle_loop_commits_what_is_pending_once_it_is_due() -> None:
    commits, clock, calls = paced()
    await commits.done({A: 1})
    await commits.done({A: 2})
    await commits.flush_if_due()
    assert calls == [{A: 1}]
    clock.now += 1.0
    await commits.flush_if_due()
    await commits.flush_if_due()  # nothing pending: no empty commit
    assert calls == [{A: 1}, {A: 2}]
    assert commits.commits == 2


async def test_flush_commits_at_once_whatever_the_interval() -> None:
    commits, clock, calls = paced(interval=60)
    await commits.done({A: 1})
    await commits.done({A: 7})
    await commits.flush()  # a revocation or a stop
    await commits.flush()
    assert calls == [{A: 1}, {A: 7}]


async def test_a_refused_commit_is_logged_and_the_loop_goes_on(caplog) -> None:
    """The partitions moved at a rebalance: their new owner replays from the last commit."""
    from aiokafka.errors import CommitFailedError

    async def refused(offsets):
        raise CommitFailedError("the group has rebalanced")

    commits = PacedCommits(refused, 1.0, Clock())
    await commits.done({A: 3})
    assert commits.pending == {} and "commit refused" in caplog.text


async def test_other_commit_failures_are_raised() -> None:
    from aiokafka.errors import KafkaConnectionError

    async def broken(offsets):
        raise KafkaConnectionError("no broker")

    commits = PacedCommits(broken, 1.0, Clock())
    with pytest.raises(KafkaConnectionError):
        await commits.done({A: 3})
