"""A forwarded record names where it was first published, whatever topic it went through."""
from __future__ import annotations

from dataclasses import replace

import pytest
from aiokafka.structs import ConsumerRecord

from citybus.streams.origin import ORIGIN_HEADER, ORIGIN_KEY_HEADER, forward_headers, origin_of


def _record(topic: str, partition: int, offset: int, timestamp: int, key: bytes | None,
            headers: tuple = ()) -> ConsumerRecord:
    return ConsumerRecord(topic, partition, offset, timestamp, 0, key, b"\xc3\x01body", None, 0, 0, headers)


def test_a_record_forwarded_twice_comes_back_as_first_published() -> None:
    first = _record("bus.migration.requests", 4, 1234, 1_700_000_000_000, b"subject", (("ce_id", b"1"),))
    hop1 = _record("internal.claims", 1, 7, 1_800_000_000_000, b"m-1", tuple(forward_headers(first)))
    back = origin_of(hop1, 6)
    assert back == first
    hop2 = _record("internal.claimed", 4, 9, 1_900_000_000_000, b"subject", tuple(forward_headers(back)))
    assert origin_of(hop2, 6) == first


def test_origin_headers_a_record_arrived_with_are_replaced_not_trusted() -> None:
    forged = _record("city.440300.insurance.contributions", 2, 5, 10, b"k",
                     ((ORIGIN_HEADER, b"elsewhere/0/0/0"), (ORIGIN_KEY_HEADER, b"x")))
    headers = forward_headers(forged)
    assert [name for name, _ in headers].count(ORIGIN_HEADER) == 1
    assert origin_of(_record("t", 0, 0, 0, b"other", tuple(headers)), 6) == replace(forged, headers=())
    assert dict(headers)[ORIGIN_HEADER] == b"city.440300.insurance.contributions/2/5/10"


def test_an_older_forward_without_time_or_key_keeps_the_forwarded_ones() -> None:
    older = _record("by-person", 3, 8, 42, b"k", ((ORIGIN_HEADER, b"city.440300.insurance.contributions/4/1234"),))
    back = origin_of(older, 6)
    assert back is not None
    assert (back.topic, back.partition, back.offset, back.timestamp, back.key, back.headers) == (
        "city.440300.insurance.contributions", 4, 1234, 42, b"k", ())


@pytest.mark.parametrize("header", [None, b"", b"no-slashes", b"t/1", b"t/x/1", b"t/1/2/3/4", b"/1/2", b"\xff/1/2",
                                    # coordinates no record of 6-partition topics has (its dead letter could
                                    # not be written, a send to its partition fails)
                                    b"t/6/2", b"t/-1/2", b"t/1/-1", b"t/1/9223372036854775808"])
def test_a_missing_or_malformed_origin_is_none(header: bytes | None) -> None:
    headers = () if header is None else ((ORIGIN_HEADER, header),)
    assert origin_of(_record("internal", 0, 0, 0, b"k", headers), 6) is None


def test_the_last_partition_and_the_largest_offset_are_an_origin() -> None:
    back = origin_of(_record("internal", 0, 0, 0, b"k", ((ORIGIN_HEADER, b"t/5/9223372036854775807/0"),)), 6)
    assert back is not None and (back.partition, back.offset) == (5, 2**63 - 1)
