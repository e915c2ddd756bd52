"""The fast writer of `SingleObjectCodec.encoder`: fastavro's bytes for the plain cases, and
fastavro itself (its bytes, its refusals) for everything else."""
from __future__ import annotations

import datetime
import io
import random
from decimal import Decimal
from typing import Any

import pytest
from fastavro import parse_schema, schemaless_writer

from citybus.codec import SingleObjectCodec
from citybus.codec.fast_writer import Fallback, compile_writer
from citybus.errors import ValidationError

from codec_samples import SAMPLES, SCALELESS_AMOUNTS, SCALELESS_AMOUNTS_RECORD

NAME = "citybus.insurance.ContributionRecorded"
UTC = datetime.timezone.utc


def plain(**changes: Any) -> dict[str, Any]:
    record = {**SAMPLES[NAME], "recorded_at": 1_712_046_615_250}
    record.update(changes)
    return record


def outcome(call, record):  # noqa: ANN001
    try:
        return "ok", call(record)
    except ValidationError as exc:
        return "refused", (exc.field, str(exc))
    except Exception as exc:  # noqa: BLE001 - whatever encode does, the encoder does too
        return "raised", (type(exc), str(exc))


NESTED = ("citybus.insurance.ContributionSummary",  # map, array of records, nullable strings
          "citybus.migration.MigrationStatusChanged", "citybus.migration.MigrationCommand",
          "citybus.migration.MigrationReply")


def test_the_bus_records_compile(codec: SingleObjectCodec) -> None:
    compiled = {name for name in codec.store.record_names if compile_writer(codec.store.latest(name).parsed)}
    assert {NAME, *NESTED} <= compiled


def test_a_decimal_without_a_scale_is_written_at_scale_0_as_fastavro_writes_it() -> None:
    """Avro's default scale is 0 (every bus amount has scale 2, so no bus schema leaves it out)."""
    parsed = parse_schema(SCALELESS_AMOUNTS)
    write = compile_writer(parsed)
    assert write is not None
    record = SCALELESS_AMOUNTS_RECORD
    reference = io.BytesIO()
    schemaless_writer(reference, parsed, record)
    assert write(record) == reference.getvalue()


def test_a_union_with_null_last_is_written_as_fastavro_writes_it() -> None:
    """The union may be ["null", T] or [T, "null"] (no bus schema has the second yet): each value
    gets the index of its own branch."""
    parsed = parse_schema({"type": "record", "name": "citybus.test.Unions", "fields": [
        {"name": "first", "type": ["null", "string"]}, {"name": "last", "type": ["string", "null"]},
        {"name": "count", "type": ["long", "null"]}]})
    write = compile_writer(parsed)
    assert write is not None
    for record in ({"first": None, "last": None, "count": None}, {"first": "a", "last": "b", "count": -3}):
        reference = io.BytesIO()
        schemaless_writer(reference, parsed, record)
        assert write(record) == reference.getvalue(), record


@pytest.mark.parametrize("schema", ["string", {"type": "enum", "name": "citybus.test.E", "symbols": ["A"]},
                                    {"type": "array", "items": "long"}], ids=["string", "enum", "array"])
def test_a_schema_that_is_no_record_is_not_compiled(schema: Any) -> None:
    """Module doc: None for any other schema (fastavro writes it), not an error."""
    assert compile_writer(parse_schema(schema)) is None


def random_value(schema: Any, rng: random.Random, names: dict[str, Any]) -> Any:
    """A plain value of a fastavro-parsed schema (named types resolved as met)."""
    if isinstance(schema, str) and schema in names:
        schema = names[schema]
    if schema == "string":
        return rng.choice(["", "x", "440300", "深圳-é-" + str(rng.random()), "y" * rng.choice([127, 128, 9000])])
    if schema in ("int", "long"):
        return rng.choice([0, 1, -1, 63, 64, -65, 8191, 8192, -8193, 2**31 - 1, -(2**31)])
    if isinstance(schema, list):
        other = next(b for b in schema if b != "null")
        return None if rng.random() < 0.4 else random_value(other, rng, names)
    kind = schema["type"]
    if kind == "long":  # timestamp-millis
        return rng.choice([0, 1_712_046_615_250, 2**63 - 1, -(2**63)])
    if kind == "enum":
        names[schema["name"]] = schema
        return rng.choice(schema["symbols"])
    if kind == "bytes":
        return Decimal(rng.randrange(10**12)).scaleb(-schema.get("scale", 0))
    if kind == "array":
        return [random_value(schema["items"], rng, names) for _ in range(rng.choice([0, 1, 2, 5, 70]))]
    if kind == "map":
        return {f"k{i}-{rng.random()}": random_value(schema["values"], rng, names)
                for i in range(rng.choice([0, 1, 3, 70]))}
    names[schema["name"]] = schema
    return {f["name"]: random_value(f["type"], rng, names) for f in schema["fields"]}


@pytest.mark.parametrize("name", NESTED)
def test_random_nested_records_are_fastavros_bytes(codec: SingleObjectCodec, name: str) -> None:
    parsed = codec.store.latest(name).parsed
    fast, encoder, rng = compile_writer(parsed), codec.encoder(name), random.Random(name)
    for _ in range(400):
        record = random_value(parsed, rng, {})
        reference = codec.encode(name, record)
        assert codec.store.latest(name).header + fast(record) == reference
        assert encoder(record) == reference


@pytest.mark.parametrize("name", NESTED)
def test_an_odd_value_at_any_depth_gets_fastavros_answer(codec: SingleObjectCodec, name: str) -> None:
    """Every leaf (and container) of a plain record in turn replaced by something that is not
    its plain case: the encoder's bytes or refusal are fastavro's."""
    parsed = codec.store.latest(name).parsed
    rng = random.Random(7)
    encoder = codec.encoder(name)
    oddities = [None, True, 1.5, b"x", "", 2**64, (), ("tuple",), {"a": 1}, "NOT_A_SYMBOL", Decimal("-1")]
    checked = 0
    for _ in range(30):
        record = random_value(parsed, rng, {})
        for path in _paths(record):
            for odd in oddities:
                changed = _replaced(record, path, odd)
                assert outcome(encoder, changed) == outcome(lambda r: codec.encode(name, r), changed), (path, odd)
                checked += 1
    assert checked > 1000


def _paths(value: Any, path: tuple = ()) -> list[tuple]:
    found = [path] if path else []
    if isinstance(value, dict):
        for key, item in value.items():
            found += _paths(item, path + (key,))
    elif isinstance(value, list):
        for index, item in enumerate(value[:2]):
            found += _paths(item, path + (index,))
    return found


def _replaced(value: Any, path: tuple, new: Any) -> Any:
    if not path:
        return new
    head, rest = path[0], path[1:]
    if isinstance(value, dict):
        return {**value, head: _replaced(value[head], rest, new)}
    return [_replaced(item, rest, new) if index == head else item for index, item in enumerate(value)]


def test_random_plain_records_are_fastavros_bytes(codec: SingleObjectCodec) -> None:
    fast = compile_writer(codec.store.latest(NAME).parsed)
    encoder, rng = codec.encoder(NAME), random.Random(6)
    for _ in range(3000):
        cents = [rng.choice([0, 1, 99, 100, 127, 128, 255, 256, 32767, 32768, 10**14 - 1,
                             rng.randrange(10**14)]) for _ in range(3)]
        amounts = [Decimal(c).scaleb(-2) if rng.random() < 0.7 else Decimal(c // 100) for c in cents]
        record = plain(
            record_id=rng.choice(["", "x", "SZ-" + "9" * rng.randrange(200), "深圳-é-" + str(rng.random())]),
            revision=rng.choice([1, 63, 64, 8191, 8192, 2**31 - 1, -1, -8192, -8193, -(2**31)]),
            status=rng.choice(["ACTIVE", "REVERSED"]),
            scheme=rng.choice(["PENSION", "MEDICAL", "UNEMPLOYMENT", "WORK_INJURY", "MATERNITY"]),
            insured_kind=rng.choice(["EMPLOYEE", "RESIDENT"]),
            contribution_base=amounts[0], employer_amount=amounts[1], employee_amount=amounts[2],
            recorded_at=rng.choice([0, 1, -1, 8191, 8192, 2**40, -(2**40), 2**63 - 1, -(2**63),
                                    rng.randrange(-(2**63), 2**63)]),
            month="x" * rng.choice([0, 1, 8191, 8192, 20000]),
        )
        reference = codec.encode(NAME, record)
        assert codec.store.latest(NAME).header + fast(record) == reference
        assert encoder(record) == reference


@pytest.mark.parametrize("changes", [
    {"recorded_at": datetime.datetime(2024, 4, 2, tzinfo=UTC)},   # a datetime: fastavro converts it
    {"recorded_at": datetime.datetime(2024, 4, 2)},                # naive: refused by encode
    {"recorded_at": True}, {"revision": True}, {"revision": 2**31}, {"revision": 1.0}, {"recorded_at": 2**63},
    {"revision": "1"}, {"status": "GONE"}, {"status": 0}, {"record_id": b"bytes"}, {"record_id": None},
    {"record_id": "\ud800"},
    {"contribution_base": Decimal("-1.00")}, {"contribution_base": Decimal("-0.00")},
    {"contribution_base": Decimal("1.005")}, {"contribution_base": Decimal("1.000")},
    {"contribution_base": Decimal("NaN")}, {"contribution_base": Decimal("Infinity")},
    {"contribution_base": Decimal("123456789012345")}, {"contribution_base": Decimal("1E+20")},
    {"contribution_base": 10}, {"contribution_base": "10.00"}, {"contribution_base": b"\x01"},
    {"colour": "red"},
])
def test_every_other_case_is_fastavros_own(codec: SingleObjectCodec, changes: dict[str, Any]) -> None:
    record = plain(**changes)
    assert outcome(codec.encoder(NAME), record) == outcome(lambda r: codec.encode(NAME, r), record)


def test_missing_fields_and_non_records_are_fastavros_own(codec: SingleObjectCodec) -> None:
    record = plain()
    del record["month"]
    for odd in (record, {}, None, [1, 2]):
        assert outcome(codec.encoder(NAME), odd) == outcome(lambda r: codec.encode(NAME, r), odd)
    with pytest.raises(Fallback):
        compile_writer(codec.store.latest(NAME).parsed)(plain(recorded_at=datetime.datetime(2024, 4, 2, tzinfo=UTC)))


def test_repeated_amounts_come_from_the_cache_and_stay_right(codec: SingleObjectCodec) -> None:
    encoder = codec.encoder(NAME)
    for value in ["1.00", "1", "1.0", "0.01", "0", "0.00", "100.00"] * 3:
        record = plain(contribution_base=Decimal(value))
        assert encoder(record) == codec.encode(NAME, record)


def test_an_equal_amount_with_another_exponent_is_not_taken_from_the_cache(codec: SingleObjectCodec) -> None:
    """1.00 and 1.0 are written alike and 1.000 is refused by fastavro at scale 2: whichever was
    written first, each later one gets fastavro's answer."""
    encoder = codec.encoder(NAME)
    for order in (("1.00", "1.000", "1.0"), ("1.000", "1.0", "1.00"), ("1.0", "1.00", "1.000")):
        for text in order:
            record = plain(employee_amount=Decimal(text))
            assert outcome(encoder, record) == outcome(lambda r: codec.encode(NAME, r), record), text


def test_the_table_varint_is_leb128() -> None:
    from citybus.codec.fast_writer import _varint, _varint_slow

    rng = random.Random(3)
    values = [0, 1, 127, 128, 2**14 - 1, 2**14, 2**14 + 5, 2**28, 2**42 - 1, 2**63, 2**64 - 1]
    values += [rng.randrange(2 ** rng.randrange(1, 65)) for _ in range(50000)]
    for value in values:
        assert _varint(value) == _varint_slow(value), value


def test_the_encoder_writes_plain_records_itself_and_hands_odd_ones_to_encode(
        codec: SingleObjectCodec, monkeypatch: pytest.MonkeyPatch) -> None:
    """Its fallback gives the same bytes, so only this tells a fast path that is taken from one that
    always falls back (as fast, in every other test, as fastavro)."""
    fallen: list[Any] = []
    encode = codec.encode
    monkeypatch.setattr(codec, "encode", lambda *args, **kwargs: fallen.append(args) or encode(*args, **kwargs))
    encoder = codec.encoder(NAME)
    encoder(plain())
    for name in NESTED:  # records as the services build them (timestamps in epoch milliseconds)
        codec.encoder(name)(random_value(codec.store.latest(name).parsed, random.Random(name), {}))
    assert fallen == []
    encoder(plain(revision=True))  # not its plain case: encode writes or refuses it
    assert len(fallen) == 1
