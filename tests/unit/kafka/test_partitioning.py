"""`partition_of` answers as the default partitioner does, remembered per partition count, in bounded memory."""
from __future__ import annotations

import pytest

from citybus.kafka import partitioning
from citybus.kafka.partitioning import default_partition, partition_of

# Utils.toPositive(Utils.murmur2(key)) % n, printed by kafka-clients 3.9.1 (the broker's jars) through java
JAVA = [(b"", 3, 0), (b"", 6, 3), (b"a", 3, 1), (b"a", 6, 4), (b"440301196001010012", 3, 1),
        (b"440301196001010012", 6, 1), (b"21", 3, 0), (b"21", 6, 0), (b"foobar", 3, 0), (b"foobar", 6, 0)]


@pytest.mark.parametrize(("key", "partitions", "expected"), JAVA)
def test_the_java_clients_partition(key, partitions, expected) -> None:
    assert default_partition(key, partitions) == expected
    assert partition_of(key, partitions) == expected
    assert partition_of(key, partitions) == expected  # remembered


def test_one_key_under_several_partition_counts(monkeypatch) -> None:
    monkeypatch.setattr(partitioning, "_SEEN", {})
    keys = [f"k{i}".encode() for i in range(200)]
    for partitions in (1, 3, 6, 12):
        assert [partition_of(k, partitions) for k in keys] == [default_partition(k, partitions) for k in keys]
    # each count's answers are its own: asked again in another order, none is taken for another count's
    for partitions in (12, 6, 3, 1):
        assert [partition_of(k, partitions) for k in keys] == [default_partition(k, partitions) for k in keys]


def test_the_memory_starts_over_when_full(monkeypatch) -> None:
    monkeypatch.setattr(partitioning, "_SEEN", {})
    monkeypatch.setattr(partitioning, "_SEEN_LIMIT", 10)
    keys = [f"k{i}".encode() for i in range(35)]
    for _ in range(2):
        assert [partition_of(k, 6) for k in keys] == [default_partition(k, 6) for k in keys]
        assert all(len(seen) <= 10 for seen in partitioning._SEEN.values())
