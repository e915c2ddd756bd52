"""Where Kafka's default partitioner (Java's, aiokafka's) puts a key, computed here once.

City publishers fill record batches per partition themselves, and stream workers route events
and read state by partition: both must agree with the Java client to the partition. aiokafka's
murmur2 is pure Python (~4 us for an 18-byte id) and every event of a person asks again, so
`partition_of` remembers its answers (bounded)."""
from __future__ import annotations

from aiokafka.partitioner import murmur2

__all__ = ["default_partition", "partition_of"]

_SEEN: dict[int, dict[bytes, int]] = {}  # partition count -> key -> partition (no tuple made per lookup)
_SEEN_LIMIT = 1 << 18  # keys remembered per partition count before that memory starts over (~40 MB at most)


def default_partition(key: bytes, partitions: int) -> int:
    """The partition of a non-null key: toPositive(murmur2(key)) % partitions."""
    return (murmur2(key) & 0x7FFFFFFF) % partitions


def partition_of(key: bytes, partitions: int) -> int:
    """`default_partition`, remembered."""
    seen = _SEEN.get(partitions)
    if seen is None:
        seen = _SEEN[partitions] = {}
    found = seen.get(key)
    if found is None:
        if len(seen) >= _SEEN_LIMIT:
            seen.clear()
        found = seen[key] = default_partition(key, partitions)
    return found
