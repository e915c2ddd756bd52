"""The fast reader of `SingleObjectCodec.decode`: fastavro's values for the plain cases, and
fastavro itself (its values, its refusals) for everything else, on real and on random bytes."""
from __future__ import annotations

import io
import random
from decimal import Decimal
from typing import Any

import pytest
from fastavro import parse_schema, schemaless_reader, schemaless_writer

from citybus.codec import SingleObjectCodec
from citybus.codec.fast_reader import Fallback, compile_reader
from citybus.errors import CitybusError, UndecodableError

from codec_samples import SAMPLES, SCALELESS_AMOUNTS, SCALELESS_AMOUNTS_RECORD

NAME = "citybus.insurance.ContributionRecorded"


def fastavro_read(codec: SingleObjectCodec, body: bytes) -> Any:
    stream = io.BytesIO(body)
    record = schemaless_reader(stream, codec.store.latest(NAME).parsed, None)
    if stream.tell() != len(body):
        raise ValueError("bytes left")
    return record


def typed(record: dict[str, Any]) -> list[tuple[str, type, Any]]:
    """Values and their exact types (Decimal('1.00') and Decimal('1.0') are equal, not the same)."""
    return [(k, type(v), str(v) if isinstance(v, Decimal) else v) for k, v in record.items()]


def test_flat_records_compile_and_nested_ones_do_not(codec: SingleObjectCodec) -> None:
    compiled = {name for name in codec.store.record_names if compile_reader(codec.store.latest(name).parsed)}
    assert NAME in compiled
    assert "citybus.insurance.ContributionSummary" not in compiled  # map, array, union: fastavro reads it


def test_a_decimal_without_a_scale_is_read_at_scale_0_as_fastavro_reads_it() -> None:
    """Avro's default scale is 0 (every bus amount has scale 2, so no bus schema leaves it out)."""
    parsed = parse_schema(SCALELESS_AMOUNTS)
    read = compile_reader(parsed)
    assert read is not None
    body = io.BytesIO()
    schemaless_writer(body, parsed, SCALELESS_AMOUNTS_RECORD)
    data = body.getvalue()
    assert typed(read(data, 0, len(data))) == typed(schemaless_reader(io.BytesIO(data), parsed, None))


@pytest.mark.parametrize("schema", ["string", {"type": "enum", "name": "citybus.test.E", "symbols": ["A"]},
                                    {"type": "array", "items": "long"}], ids=["string", "enum", "array"])
def test_a_schema_that_is_no_record_is_not_compiled(schema: Any) -> None:
    """Module doc: None for any other schema (fastavro reads it), not an error."""
    assert compile_reader(parse_schema(schema)) is None


def test_random_plain_records_read_as_fastavro_reads_them(codec: SingleObjectCodec) -> None:
    read, rng = compile_reader(codec.store.latest(NAME).parsed), random.Random(11)
    for _ in range(3000):
        cents = [rng.choice([0, 1, 99, 100, 127, 128, 255, 256, 32767, 32768, 10**14 - 1,
                             rng.randrange(10**14)]) for _ in range(3)]
        record = {**SAMPLES[NAME],
                  "record_id": rng.choice(["", "x", "SZ-" + "9" * rng.randrange(200), "深圳-é-" + str(rng.random())]),
                  "revision": rng.choice([1, 63, 64, 8191, 8192, 2**31 - 1, -1, -8192, -(2**31)]),
                  "status": rng.choice(["ACTIVE", "REVERSED"]),
                  "scheme": rng.choice(["PENSION", "MEDICAL", "UNEMPLOYMENT", "WORK_INJURY", "MATERNITY"]),
                  "contribution_base": Decimal(cents[0]).scaleb(-2), "employer_amount": Decimal(cents[1]).scaleb(-2),
                  "employee_amount": Decimal(cents[2]).scaleb(-2),
                  "recorded_at": rng.choice([0, 1, -1, 8191, 8192, 2**40, 1_712_046_615_250])}
        body = codec.encode(NAME, record)[10:]
        assert typed(read(body, 0, len(body))) == typed(fastavro_read(codec, body))


def test_random_bytes_read_as_fastavro_or_not_at_all(codec: SingleObjectCodec) -> None:
    """Corrupt bodies (bytes flipped, cut, appended, or noise): whenever the fast reader returns
    a record, fastavro returns the same one; when fastavro refuses, the fast reader never answers."""
    read, rng = compile_reader(codec.store.latest(NAME).parsed), random.Random(12)
    good = codec.encode(NAME, SAMPLES[NAME])[10:]
    answered = refused = 0
    for i in range(20000):
        body = bytearray(good)
        kind = i % 4
        if kind == 0:
            for _ in range(rng.randint(1, 3)):
                body[rng.randrange(len(body))] = rng.randrange(256)
        elif kind == 1:
            body = body[:rng.randrange(len(body))]
        elif kind == 2:
            body += bytes(rng.randrange(256) for _ in range(rng.randint(1, 3)))
        else:
            body = bytearray(rng.randrange(256) for _ in range(rng.randint(0, 90)))
        body = bytes(body)
        try:
            expected = ("ok", typed(fastavro_read(codec, body)))
        except Exception:  # noqa: BLE001 - fastavro's refusal, whatever it is
            expected = ("refused", None)
        try:
            got = ("ok", typed(read(body, 0, len(body))))
        except Exception:  # noqa: BLE001 - Fallback, or the error a plain read ran into
            got = ("fallback", None)
        if got[0] == "ok":
            answered += 1
            assert got == expected, body.hex()
        else:
            refused += 1
    assert answered > 100 and refused > 100  # both paths were exercised


def test_decode_uses_it_and_still_refuses_what_fastavro_refuses(codec: SingleObjectCodec) -> None:
    value = codec.encode(NAME, SAMPLES[NAME])
    name, record = codec.decode(value, NAME)
    assert name == NAME and typed(record) == typed(fastavro_read(codec, value[10:]))
    with pytest.raises(UndecodableError, match="bytes left after the record"):
        codec.decode(value + b"\x00", NAME)
    with pytest.raises(UndecodableError, match="corrupt or truncated"):
        codec.decode(value[:-3], NAME)
    bad_utf8 = value[:10] + b"\x04\xff\xfe" + value[10 + 1 + len(SAMPLES[NAME]["record_id"].encode()):]
    with pytest.raises(CitybusError):
        codec.decode(bad_utf8, NAME)


def test_a_long_varint_is_left_to_fastavro() -> None:
    read = compile_reader({"type": "record", "name": "t.R", "fields": [{"name": "n", "type": "long"}]})
    assert read(b"\x02", 0, 1) == {"n": 1}
    with pytest.raises(Fallback):
        read(b"\xff" * 11 + b"\x01", 0, 12)


def test_decode_reads_plain_records_itself_and_hands_odd_ones_to_fastavro(
        codec: SingleObjectCodec, monkeypatch: pytest.MonkeyPatch) -> None:
    """Its fallback reads the same values, so only this tells a fast path that is taken from one that
    always falls back."""
    import citybus.codec.single_object as single_object

    fallen: list[Any] = []
    monkeypatch.setattr(single_object, "schemaless_reader",
                        lambda *args: fallen.append(args) or schemaless_reader(*args))
    value = codec.encode(NAME, SAMPLES[NAME])
    assert codec.decode(value, NAME)[1]["record_id"] == SAMPLES[NAME]["record_id"]
    assert fallen == []
    with pytest.raises(UndecodableError):
        codec.decode(value[:-3], NAME)
    assert len(fallen) == 1


def test_a_latest_version_read_once_is_found_by_its_header_after_and_still_type_checked(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """The second read of a type skips the fingerprint lookup (one dict lookup by the 10-byte
    header); a record of another type than expected is still refused, and an odd body still goes
    to fastavro."""
    from citybus.errors import WrongTypeError

    codec = SingleObjectCodec()
    value = codec.encode(NAME, SAMPLES[NAME])
    assert codec.decode(value, NAME)[1]["record_id"] == SAMPLES[NAME]["record_id"]
    looked_up: list[bytes] = []
    find = codec.store.find
    monkeypatch.setattr(codec.store, "find", lambda fingerprint: looked_up.append(fingerprint) or find(fingerprint))
    assert codec.decode(value, NAME) == codec.decode(value)
    assert looked_up == []
    with pytest.raises(WrongTypeError, match="expected a citybus.insurance.RetirementRequested"):
        codec.decode(value, "citybus.insurance.RetirementRequested")
    with pytest.raises(UndecodableError, match="bytes left after the record"):
        codec.decode(value + b"\x00", NAME)
    assert len(looked_up) == 2  # both went the long way
