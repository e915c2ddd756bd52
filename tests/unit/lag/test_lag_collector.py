"""The collector's broker-free parts: membership from group state, samples from fetched offsets."""
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
