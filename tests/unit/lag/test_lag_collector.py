"""The collector's broker-free parts: membership from group state, samples from fetched offsets."""
import asyncio
import gc

import pytest
from aiokafka import TopicPartition

from citybus.errors import BrokerError
from citybus.lag import LagCollector, group_active
from citybus.lag.collector import _samples


@pytest.mark.parametrize(
    ("state", "members", "active"),
    [
        ("Stable", 2, True),
        ("PreparingRebalance", 1, True),
        ("CompletingRebalance", 1, True),
        ("Stable", 0, False),
        ("Empty", 0, False),
        ("Dead", 0, False),
        ("", 0, None),
        ("Unknown", 3, None),
    ],
)
def test_group_active_from_state(state, members, active):
    assert group_active(state, members) is active


def test_samples_cover_every_partition_of_committed_topics():
    tp = [TopicPartition("orders", 0), TopicPartition("orders", 1), TopicPartition("other", 0)]
    samples = list(
        _samples(
            committed={"billing": {tp[0]: 5}},
            topics_of={"billing": {"orders"}},
            activity={"billing": True},
            partitions=tp,
            starts={tp[0]: 0, tp[1]: 3, tp[2]: 0},
            ends={tp[0]: 10, tp[1]: 7, tp[2]: 100},
            at_ms=42,
        )
    )
    assert [(s.topic, s.partition, s.committed, s.lag_messages, s.group_active, s.at_ms) for s in samples] == [
        ("orders", 0, 5, 5, True, 42),
        ("orders", 1, None, 4, True, 42),
    ]


async def test_sampling_before_start_is_a_broker_error():
    with pytest.raises(BrokerError, match="not started"):
        await LagCollector("127.0.0.1:1").sample_once()


def test_a_members_assigned_topic_is_sampled_before_any_commit_there():
    tp = [TopicPartition("orders", 0), TopicPartition("fresh", 0), TopicPartition("other", 0)]
    samples = list(_samples(committed={"billing": {tp[0]: 5}}, topics_of={"billing": {"orders", "fresh"}},
                            activity={"billing": True}, partitions=tp, starts={t: 0 for t in tp},
                            ends={t: 9 for t in tp}, at_ms=1))
    assert [(s.topic, s.committed, s.lag_messages) for s in samples] == [("orders", 5, 4), ("fresh", None, 9)]


def test_assigned_topics_come_from_the_consumer_protocol_assignment():
    from aiokafka.coordinator.protocol import ConsumerProtocolMemberAssignment

    from citybus.lag.collector import _assigned_topics

    raw = ConsumerProtocolMemberAssignment(0, [("orders", [0, 1]), ("fresh", [2])], b"").encode()
    assert _assigned_topics(raw) == ["orders", "fresh"]
    assert _assigned_topics(b"") == [] and _assigned_topics(None) == [] and _assigned_topics(b"\x00\x01junk") == []


class _StuckOffsets:
    """Stands in for the offsets consumer while the broker is gone: reading never returns."""

    def __init__(self) -> None:
        self.reading = asyncio.Event()

    async def beginning_offsets(self, tps):
        self.reading.set()
        await asyncio.sleep(3600)

    async def end_offsets(self, tps):
        await asyncio.sleep(3600)


@pytest.mark.parametrize("how", ["stopped", "timed out"])
async def test_an_offsets_read_cut_short_leaves_no_unretrieved_exception(how):
    """A stopping service cancels the read mid-flight (or it times out with the broker gone); no
    future may be left holding an exception nobody retrieves: asyncio logs those at ERROR, with a
    traceback, as the service exits (it did: `_GatheringFuture exception was never retrieved`)."""
    loop = asyncio.get_running_loop()
    unhandled: list[dict] = []
    previous = loop.get_exception_handler()
    loop.set_exception_handler(lambda _, context: unhandled.append(context))
    try:
        collector = LagCollector("127.0.0.1:9", watch_commits=False,
                                 offsets_timeout_s=3600 if how == "stopped" else 0.05)
        stuck = _StuckOffsets()
        read = asyncio.ensure_future(collector._log_offsets(stuck, [TopicPartition("orders", 0)]))
        await stuck.reading.wait()
        if how == "stopped":
            read.cancel()
            with pytest.raises(asyncio.CancelledError):
                await read
        else:
            with pytest.raises(BrokerError):
                await read
        del read
        for _ in range(3):
            await asyncio.sleep(0)
            gc.collect()
    finally:
        loop.set_exception_handler(previous)
    assert [c.get("message") for c in unhandled] == []
