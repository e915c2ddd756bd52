"""Reading commit times from `__consumer_offsets` records (Kafka's OffsetCommitKey/Value layouts,
built here byte by byte; the collector's real-broker tests read the broker's own)."""
from __future__ import annotations

import struct

import pytest

from citybus.lag.commits import parse_commit


def string(text: str) -> bytes:
    raw = text.encode()
    return struct.pack(">h", len(raw)) + raw


def key(group: str = "g", topic: str = "t", partition: int = 3, version: int = 1) -> bytes:
    return struct.pack(">h", version) + string(group) + string(topic) + struct.pack(">i", partition)


def value(version: int, committed_at: int, metadata: str = "meta", offset: int = 42) -> bytes:
    out = struct.pack(">hq", version, offset)
    if version >= 3:
        out += struct.pack(">i", 7)  # leader epoch
    if version >= 4:  # flexible: compact string, then the timestamp, then tagged fields
        raw = metadata.encode()
        out += bytes([len(raw) + 1]) + raw + struct.pack(">q", committed_at) + b"\x00"
        return out
    out += string(metadata) + struct.pack(">q", committed_at)
    if version == 1:
        out += struct.pack(">q", committed_at + 86_400_000)  # expire timestamp
    return out


@pytest.mark.parametrize("version", [0, 1, 2, 3, 4])
def test_every_commit_value_version_gives_group_topic_partition_and_time(version: int) -> None:
    assert parse_commit(key("orders", "city.440300.commands", 5), value(version, 1_700_000_000_123)) == (
        "orders", "city.440300.commands", 5, 1_700_000_000_123)


def test_empty_metadata_and_key_version_0() -> None:
    assert parse_commit(key(version=0), value(3, 99, metadata="")) == ("g", "t", 3, 99)


def test_group_metadata_records_and_tombstones_are_not_commits() -> None:
    assert parse_commit(struct.pack(">h", 2) + string("g"), b"\x00\x03anything") is None
    assert parse_commit(key(), None) is None
    assert parse_commit(None, value(3, 1)) is None


@pytest.mark.parametrize("raw_key, raw_value", [
    (b"\x00", value(3, 1)), (key(), b"\x00\x03\x00"), (key()[:-2], value(3, 1)),
    (key(), struct.pack(">hq", 9, 1) + b"\x00" * 30), (b"\x00\x01\x00\x09ab", value(3, 1)),
])
def test_bytes_it_cannot_read_raise_value_error(raw_key: bytes, raw_value: bytes) -> None:
    with pytest.raises(ValueError):
        parse_commit(raw_key, raw_value)


async def test_a_watch_that_fails_forgets_its_commit_times_instead_of_going_stale() -> None:
    from citybus.lag.commits import CommitWatch

    watch = CommitWatch("127.0.0.1:1")
    watch.since_ms, watch.last_commit_ms = 5, {("g", "t", 0): 7}

    async def broken() -> None:
        raise ConnectionError("broker gone")

    watch._read = broken  # noqa: SLF001
    await watch._run()  # noqa: SLF001
    assert watch.since_ms is None and watch.last_commit_ms == {}  # membership decides again
