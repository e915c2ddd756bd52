"""Real bad bytes, each to its own error class, each message saying what was wrong."""
from __future__ import annotations

import pytest

from citybus.codec import SingleObjectCodec
from citybus.errors import CodecError, UndecodableError, UnknownSchemaError, WrongTypeError

from codec_samples import SAMPLES

NAME = "citybus.insurance.ContributionRecorded"


@pytest.fixture(scope="module")
def good(codec: SingleObjectCodec) -> bytes:
    return codec.encode(NAME, SAMPLES[NAME])


@pytest.mark.parametrize(
    ("mangle", "error", "says"),
    [
        (lambda b: b"", UndecodableError, "too short"),
        (lambda b: b[:7], UndecodableError, "too short"),
        (lambda b: b"\x00\x01" + b[2:], UndecodableError, "starts with 00 01, expected c3 01"),
        (lambda b: b'{"record_id": "x"}', UndecodableError, "not Avro single-object"),
        (lambda b: b[:-4], UndecodableError, "truncated"),
        (lambda b: b[:10], UndecodableError, "truncated"),
        (lambda b: b + b"\x00\x00", UndecodableError, "2 bytes left after the record"),
        (lambda b: b[:10] + b"\x01" + b[11:], UndecodableError, "corrupt"),  # record_id length -1
        (lambda b: b[:10] + b"\x7f" * 40, UndecodableError, "corrupt"),
        (lambda b: b[:2] + bytes(8) + b[10:], UnknownSchemaError, "fingerprint 0000000000000000"),
        (lambda b: b[:2] + bytes(reversed(b[2:10])) + b[10:], UnknownSchemaError, "unknown writer schema"),
    ],
)
def test_bad_bytes(codec: SingleObjectCodec, good: bytes, mangle, error: type[CodecError], says: str) -> None:
    with pytest.raises(error, match=says) as caught:
        codec.decode(mangle(good), expected_full_name=NAME)
    assert caught.value.reason_code == error.reason_code


def test_invalid_enum_index_is_undecodable(codec: SingleObjectCodec) -> None:
    name = "citybus.migration.MigrationReply"
    data = bytearray(codec.encode(name, SAMPLES[name]))
    # body: command_id, migration_id, then the scope enum index (zigzag 1 = PENSION)
    offset = 10 + 1 + len("m-1/PENSION/PRECHECK") + 1 + len("m-1")
    assert data[offset] == 2
    data[offset] = 40  # index 20: no such symbol
    with pytest.raises(UndecodableError, match="MigrationReply"):
        codec.decode(bytes(data))


def test_another_record_is_the_wrong_type(codec: SingleObjectCodec) -> None:
    other = codec.encode("citybus.household.HouseholdMoved", SAMPLES["citybus.household.HouseholdMoved"])
    with pytest.raises(WrongTypeError, match="expected a citybus.insurance.ContributionRecorded, got a citybus.household.HouseholdMoved"):
        codec.decode(other, expected_full_name=NAME)
    assert codec.decode(other)[0] == "citybus.household.HouseholdMoved"


def test_memoryview_and_bytearray_are_accepted(codec: SingleObjectCodec, good: bytes) -> None:
    assert codec.decode(memoryview(good))[0] == NAME
    assert codec.decode(bytearray(good))[0] == NAME


def test_encoding_an_unknown_record_is_unknown_schema(codec: SingleObjectCodec) -> None:
    with pytest.raises(UnknownSchemaError, match="no schema named citybus.insurance.Nothing"):
        codec.encode("citybus.insurance.Nothing", {})
    with pytest.raises(UnknownSchemaError, match="no version 9"):
        codec.encode(NAME, SAMPLES[NAME], version=9)
