"""Every record survives encode -> decode, and the Apache `avro` package agrees both ways."""
from __future__ import annotations

import datetime
import io
import json
from decimal import Decimal
from typing import Any

import avro.io
import avro.schema
import pytest

from citybus.codec import MAGIC, SchemaStore, SingleObjectCodec, decode, encode
from citybus.errors import ValidationError

from codec_samples import SAMPLES


def test_samples_cover_every_record(store: SchemaStore) -> None:
    assert sorted(SAMPLES) == sorted(store.record_names)


def test_round_trip(codec: SingleObjectCodec, sample: tuple[str, dict[str, Any]]) -> None:
    full_name, record = sample
    data = codec.encode(full_name, record)
    assert data[:2] == MAGIC
    assert data[2:10] == codec.store.latest(full_name).fingerprint
    assert codec.decode(data, expected_full_name=full_name) == (full_name, record)


def test_decoded_types_are_plain_python(codec: SingleObjectCodec) -> None:
    name = "citybus.insurance.RetirementRequested"
    _, record = codec.decode(codec.encode(name, SAMPLES[name]))
    assert record["retirement_date"] == datetime.date(2050, 1, 1)
    assert record["requested_at"].tzinfo is not None and record["requested_at"].utcoffset() == datetime.timedelta(0)
    _, contribution = codec.decode(codec.encode("citybus.insurance.ContributionRecorded",
                                                SAMPLES["citybus.insurance.ContributionRecorded"]))
    assert contribution["employee_amount"] == Decimal("800.00")
    assert str(contribution["employee_amount"]) == "800.00"
    assert contribution["recorded_at"].microsecond == 250000  # millisecond precision kept


def test_timestamps_as_millis_and_other_zones_are_the_same_instant(codec: SingleObjectCodec) -> None:
    name = "citybus.household.HouseholdMoved"
    moved_at = SAMPLES[name]["moved_at"]
    beijing = moved_at.astimezone(datetime.timezone(datetime.timedelta(hours=8)))
    as_millis = int(moved_at.timestamp() * 1000)
    encoded = {codec.encode(name, dict(SAMPLES[name], moved_at=value)) for value in (moved_at, beijing, as_millis)}
    assert len(encoded) == 1


def test_naive_datetimes_are_refused(codec: SingleObjectCodec) -> None:
    name = "citybus.household.HouseholdMoved"
    with pytest.raises(ValidationError, match="moved_at"):
        codec.encode(name, dict(SAMPLES[name], moved_at=datetime.datetime(2026, 1, 1)))


@pytest.mark.parametrize(
    ("change", "field"),
    [({"revision": "2"}, "revision"), ({"scheme": "PENSIONS"}, "scheme"), ({"employee_amount": Decimal("1.005")}, "employee_amount"),
     ({"bonus": 1}, "bonus")],
)
def test_invalid_records_name_the_field(codec: SingleObjectCodec, change: dict[str, Any], field: str) -> None:
    name = "citybus.insurance.ContributionRecorded"
    with pytest.raises(ValidationError) as caught:
        codec.encode(name, dict(SAMPLES[name], **change))
    assert caught.value.field == f"{name}.{field}"


def test_missing_field_is_named(codec: SingleObjectCodec) -> None:
    name = "citybus.insurance.ContributionRecorded"
    record = {k: v for k, v in SAMPLES[name].items() if k != "city"}
    with pytest.raises(ValidationError, match=r"ContributionRecorded\.city"):
        codec.encode(name, record)


@pytest.mark.parametrize("value", [None, [1, 2], "record"], ids=repr)
def test_a_value_that_is_no_record_is_refused_as_such(codec: SingleObjectCodec, value: object) -> None:
    name = "citybus.insurance.ContributionRecorded"
    with pytest.raises(ValidationError, match="a record is a dict of its fields") as caught:
        codec.encode(name, value)  # type: ignore[arg-type]
    assert caught.value.field == name


def test_a_bad_field_is_named_when_a_field_with_a_default_is_left_out(codec: SingleObjectCodec) -> None:
    """`reason` has a default (null), so leaving it out is fine: the field at fault is the bad one
    (`package`, after `reason` in the schema)."""
    name = "citybus.migration.MigrationReply"
    record = {k: v for k, v in SAMPLES[name].items() if k != "reason"}
    codec.encode(name, record)
    with pytest.raises(ValidationError) as caught:
        codec.encode(name, dict(record, package={"balance": 1}))
    assert caught.value.field == f"{name}.package"


def test_module_functions_use_the_repos_schemas() -> None:
    name = "citybus.migration.MigrationReply"
    assert decode(encode(name, SAMPLES[name])) == (name, SAMPLES[name])


def _apache(store: SchemaStore, full_name: str) -> avro.schema.Schema:
    return avro.schema.parse(json.dumps(store.latest(full_name).schema))


def test_bytes_written_by_apache_avro_decode_with_citybus(codec: SingleObjectCodec, sample: tuple[str, dict[str, Any]]) -> None:
    full_name, record = sample
    body = io.BytesIO()
    avro.io.DatumWriter(_apache(codec.store, full_name)).write(record, avro.io.BinaryEncoder(body))
    data = MAGIC + codec.store.latest(full_name).fingerprint + body.getvalue()
    assert data == codec.encode(full_name, record)
    assert codec.decode(data, full_name) == (full_name, record)


def test_citybus_bytes_decode_with_apache_avro(codec: SingleObjectCodec, sample: tuple[str, dict[str, Any]]) -> None:
    full_name, record = sample
    data = codec.encode(full_name, record)
    assert codec.store.find(data[2:10]).full_name == full_name
    schema = _apache(codec.store, full_name)
    decoded = avro.io.DatumReader(schema, schema).read(avro.io.BinaryDecoder(io.BytesIO(data[10:])))
    assert decoded == record
