"""CloudEvents binary-mode Kafka headers, checked by the cloudevents SDK itself."""
from __future__ import annotations

import datetime
import uuid

import pytest
from cloudevents.core.bindings.kafka import KafkaMessage, to_binary
from cloudevents.core.v1.event import CloudEvent

from citybus.codec import cloudevent_headers, parse_cloudevent_headers
from citybus.errors import ValidationError

NAME = "citybus.insurance.ContributionRecorded"
SOURCE = "/cities/440300/hrss"
AT = datetime.datetime(2026, 11, 22, 8, 0, 0, 123000, tzinfo=datetime.timezone.utc)


def test_headers_are_the_bus_contracts() -> None:
    assert cloudevent_headers(NAME, SOURCE, id="e-1", time=AT) == [
        ("ce_specversion", b"1.0"),
        ("ce_id", b"e-1"),
        ("ce_source", SOURCE.encode()),
        ("ce_type", NAME.encode()),
        ("ce_time", b"2026-11-22T08:00:00.123Z"),
        ("content-type", b"application/avro"),
    ]


def test_defaults_are_a_uuid4_and_now() -> None:
    before = datetime.datetime.now(datetime.timezone.utc)
    parsed = parse_cloudevent_headers(cloudevent_headers(NAME, SOURCE))
    assert uuid.UUID(parsed["id"]).version == 4
    assert before - datetime.timedelta(milliseconds=1) <= parsed["time"] <= datetime.datetime.now(datetime.timezone.utc)


def test_round_trip_gives_the_attributes() -> None:
    beijing = AT.astimezone(datetime.timezone(datetime.timedelta(hours=8)))
    assert parse_cloudevent_headers(cloudevent_headers(NAME, SOURCE, id="e-1", time=beijing)) == {
        "specversion": "1.0", "id": "e-1", "source": SOURCE, "type": NAME, "time": AT,
        "datacontenttype": "application/avro",
    }


def test_what_the_sdk_writes_we_read() -> None:
    event = CloudEvent(attributes={"id": "e-2", "source": "/bus/aggregation", "type": NAME, "time": AT,
                                   "datacontenttype": "application/avro"}, data=None)

    class Raw:
        def write_data(self, data: object, datacontenttype: str | None) -> bytes:
            return b""

    message: KafkaMessage = to_binary(event, Raw())
    parsed = parse_cloudevent_headers(message.headers)
    assert (parsed["id"], parsed["source"], parsed["time"]) == ("e-2", "/bus/aggregation", AT)


def test_other_headers_are_ignored_and_names_are_case_insensitive() -> None:
    headers = [("traceparent", b"00-abc"), *((k.upper(), v) for k, v in cloudevent_headers(NAME, SOURCE, "e-3", AT))]
    assert parse_cloudevent_headers(headers)["id"] == "e-3"


@pytest.mark.parametrize(
    ("header", "value", "says"),
    [("ce_id", None, "ce_id"), ("ce_source", b"", "ce_source"), ("ce_type", None, "ce_type"),
     ("ce_time", None, "ce_time"), ("ce_time", b"yesterday", "ce_time: not an RFC 3339 time"),
     ("ce_specversion", b"0.3", "ce_specversion: must be 1.0"), ("ce_id", b"\xff", "UTF-8")],
)
def test_broken_headers_name_the_header(header: str, value: bytes | None, says: str) -> None:
    headers = [(k, v) for k, v in cloudevent_headers(NAME, SOURCE, "e-4", AT) if k != header]
    if value is not None:
        headers.append((header, value))
    with pytest.raises(ValidationError, match=says):
        parse_cloudevent_headers(headers)


def test_a_naive_time_is_refused() -> None:
    with pytest.raises(ValidationError, match="ce_time"):
        cloudevent_headers(NAME, SOURCE, time=datetime.datetime(2026, 1, 1))


def test_header_maker_gives_the_same_headers_with_unique_ids_and_now() -> None:
    from citybus.codec import CloudEventHeaders

    make, other = CloudEventHeaders(NAME, SOURCE), CloudEventHeaders(NAME, SOURCE)
    before = datetime.datetime.now(datetime.timezone.utc)
    made = [make() for _ in range(5000)] + [other() for _ in range(5000)]
    after = datetime.datetime.now(datetime.timezone.utc)
    reference = cloudevent_headers(NAME, SOURCE)
    for headers in made[:3] + made[-3:]:
        assert [name for name, _ in headers] == [name for name, _ in reference]
        parsed = parse_cloudevent_headers(headers)
        assert (parsed["specversion"], parsed["source"], parsed["type"], parsed["datacontenttype"]) == (
            "1.0", SOURCE, NAME, "application/avro")
        assert before - datetime.timedelta(milliseconds=1) <= parsed["time"] <= after
    ids = [dict(headers)["ce_id"] for headers in made]
    assert len(set(ids)) == len(ids) and all(ids)  # unique per source, across makers too


def test_header_maker_time_is_rfc3339_millis_of_now(monkeypatch: pytest.MonkeyPatch) -> None:
    from citybus.codec import CloudEventHeaders
    from citybus.codec import headers as module

    make = CloudEventHeaders(NAME, SOURCE)
    for ms, expected in ((1_763_798_400_123, b"2025-11-22T08:00:00.123Z"), (1_763_798_400_123, b"2025-11-22T08:00:00.123Z"),
                         (1_763_798_400_999, b"2025-11-22T08:00:00.999Z"), (1_763_798_401_000, b"2025-11-22T08:00:01.000Z"),
                         (0, b"1970-01-01T00:00:00.000Z"), (253_402_300_799_999, b"9999-12-31T23:59:59.999Z")):
        monkeypatch.setattr(module._time, "time_ns", lambda ms=ms: ms * 1_000_000 + 999_999)
        assert dict(make())["ce_time"] == expected
    assert dict(make())["ce_time"] == b"9999-12-31T23:59:59.999Z"
