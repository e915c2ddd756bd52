"""Partition stores (real RocksDB in a temp dir) and the routing range assignor (pure)."""
from __future__ import annotations

import json
import os

import pytest
from aiokafka.cluster import ClusterMetadata
from aiokafka.coordinator.protocol import ConsumerProtocolMemberAssignment

from citybus.errors import ConfigurationError
from citybus.streams.assignor import Owners, routing_assignor
from citybus.streams.store import PartitionStore, Stores
from citybus.streams.batch import partition_of, remembered_partitioner


def test_values_and_positions_are_written_together_and_survive_reopening(tmp_path):
    store = PartitionStore(tmp_path / "p0")
    assert store.position("changelog") == 0 and store.get(b"La") is None
    store.write({b"La": b"1", b"Lb": b"2", b"Rz": b"3"}, {"changelog": 41, "index": 7})
    store.write({b"La": b"4"}, {"changelog": 42})
    store.close()
    again = PartitionStore(tmp_path / "p0")
    assert (again.get(b"La"), again.get(b"Rz")) == (b"4", b"3")
    assert (again.position("changelog"), again.position("index")) == (42, 7)
    assert list(again.keys(b"L")) == [b"La", b"Lb"]  # positions are not values
    again.close()


def test_a_store_keeps_a_bloom_filter_in_its_files_for_the_keys_it_does_not_have(tmp_path):
    store = PartitionStore(tmp_path / "p0")
    store.write({b"L:R1": b"ledger"})
    store.close()
    # RocksDB writes the options it opened the store with next to the data
    (options,) = (tmp_path / "p0").glob("OPTIONS-*")
    filters = [line.strip() for line in options.read_text().splitlines() if line.strip().startswith("filter_policy=")]
    assert filters and all("bloomfilter" in line for line in filters), filters


def test_stores_open_close_and_wipe(tmp_path):
    stores = Stores(tmp_path)
    stores.open(3).write({b"k": b"v"}, {"t": 5})
    assert 3 in stores and stores.partitions == {3}
    stores.close(3)
    assert 3 not in stores
    assert stores.open(3).get(b"k") == b"v"
    stores.wipe(3)
    assert stores.open(3).get(b"k") is None and stores[3].position("t") == 0
    stores.close_all()


def test_partition_of_is_kafkas_default_partitioner():
    # the values Java's murmur2 partitioner gives (kafka-clients Utils.murmur2, 6 partitions)
    assert [partition_of(k, 6) for k in (b"a", b"110101199001011237", b"")] == [
        (_java_murmur2(k) & 0x7FFFFFFF) % 6 for k in (b"a", b"110101199001011237", b"")]


def test_the_producers_partitioner_places_keys_as_javas_and_spreads_unkeyed_records():
    keys = (b"a", b"110101199001011237", b"440301196001010051")
    assert [remembered_partitioner(k, [0, 1, 2, 3, 4, 5], [0, 1]) for k in keys] == [
        (_java_murmur2(k) & 0x7FFFFFFF) % 6 for k in keys]  # unavailable partitions do not move a key
    assert {remembered_partitioner(None, [0, 1, 2, 3, 4, 5], [2, 4]) for _ in range(200)} == {2, 4}


def _java_murmur2(data: bytes) -> int:  # a transcription of kafka-clients Utils.murmur2, independent of aiokafka
    length, seed, m, r = len(data), 0x9747B28C, 0x5BD1E995, 24
    h = (seed ^ length) & 0xFFFFFFFF
    for i in range(0, length - length % 4, 4):
        k = int.from_bytes(data[i:i + 4], "little")
        k = (k * m) & 0xFFFFFFFF
        k ^= k >> r
        k = (k * m) & 0xFFFFFFFF
        h = ((h * m) & 0xFFFFFFFF) ^ k
    rest = length % 4
    tail = data[length - rest:]
    if rest == 3:
        h ^= tail[2] << 16
    if rest >= 2:
        h ^= tail[1] << 8
    if rest >= 1:
        h ^= tail[0]
        h = (h * m) & 0xFFFFFFFF
    h ^= h >> 13
    h = (h * m) & 0xFFFFFFFF
    h ^= h >> 15
    return h - (1 << 32) if h & 0x80000000 else h


class _Cluster(ClusterMetadata):
    def __init__(self, topics: dict[str, int]) -> None:
        super().__init__()
        self._topics = topics

    def partitions_for_topic(self, topic: str):
        return set(range(self._topics[topic])) if topic in self._topics else None


def test_every_member_gets_the_same_partition_numbers_of_every_topic_and_the_owner_map():
    owners = {name: Owners() for name in ("a", "b")}
    assignors = {name: routing_assignor(f"http://{name}:1", owners[name]) for name in owners}
    topics = ["city.1.contributions", "city.2.contributions", "index"]
    members = {f"member-{name}": assignors[name].metadata(topics) for name in owners}
    result = assignors["a"].assign(_Cluster({t: 6 for t in topics}), members)
    by_member = {m: {t: sorted(ps) for t, ps in a.assignment} for m, a in result.items()}
    for member, assignment in by_member.items():
        assert len({tuple(ps) for ps in assignment.values()}) == 1, member  # same numbers for every topic
    numbers = {m: set(next(iter(a.values()))) for m, a in by_member.items()}
    assert numbers["member-a"] | numbers["member-b"] == set(range(6)) and not numbers["member-a"] & numbers["member-b"]
    for name in owners:
        assignment = result[f"member-{name}"]
        assignors[name].on_assignment(ConsumerProtocolMemberAssignment(0, assignment.assignment, assignment.user_data))
    for p in range(6):
        owner = "a" if p in numbers["member-a"] else "b"
        assert owners["a"].url(p) == owners["b"].url(p) == f"http://{owner}:1"
    assert json.loads(result["member-a"].user_data) == json.loads(result["member-b"].user_data)


def test_a_store_rocksdb_finds_corrupt_is_wiped_and_opened_empty(tmp_path):
    stores = Stores(tmp_path)
    for partition in (0, 1):
        stores.open(partition).write({b"k": b"v"}, {"changelog": 9})
    stores.close_all()
    (tmp_path / "partition-0" / "CURRENT").write_text("garbage\n")
    for table in (tmp_path / "partition-1").glob("MANIFEST-*"):
        table.write_bytes(b"")
    for partition in (0, 1):  # empty, from position 0: the worker restores all of the changelog
        assert stores.open(partition).get(b"k") is None and stores[partition].position("changelog") == 0
    stores.close_all()


def test_a_store_that_fails_to_open_for_another_reason_is_not_wiped(tmp_path):
    holder = PartitionStore(tmp_path / "partition-2")  # e.g. an operator's tool has it open
    holder.write({b"k": b"v"})
    with pytest.raises(Exception, match="lock"):
        Stores(tmp_path).open(2)
    assert holder.get(b"k") == b"v"
    holder.close()
    assert Stores(tmp_path).open(2).get(b"k") == b"v"


def test_one_worker_at_a_time_holds_a_data_directory(tmp_path):
    first, second = Stores(tmp_path), Stores(tmp_path)
    first.lock()
    with pytest.raises(ConfigurationError, match=rf"in use by another worker \(pid {os.getpid()}\)"):
        second.lock()
    first.unlock()
    second.lock()  # free again once the first let go
    second.unlock()
