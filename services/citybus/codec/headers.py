"""CloudEvents 1.0 attributes as Kafka headers (Kafka protocol binding, binary content mode).

Writing is done by hand: it runs for every message and is a handful of byte strings.
Reading goes through the `cloudevents` SDK's Kafka binding and its v1 CloudEvent, so that
what the SDK would refuse (missing or empty id/source/type, a bad time) is refused here too.
"""
from __future__ import annotations

import datetime
import itertools
import time as _time
import uuid
from collections.abc import Iterable, Mapping
from typing import Any

from cloudevents.core.bindings.kafka import KafkaMessage, from_binary
from cloudevents.core.exceptions import BaseCloudEventException, CloudEventValidationError
from cloudevents.core.v1.event import CloudEvent

from citybus.errors import ValidationError

__all__ = [
    "AVRO_CONTENT_TYPE",
    "REQUIRED_HEADERS",
    "SPECVERSION",
    "CloudEventHeaders",
    "cloudevent_headers",
    "parse_cloudevent_headers",
    "rfc3339",
]

SPECVERSION = "1.0"
AVRO_CONTENT_TYPE = "application/avro"
_SPECVERSION = SPECVERSION.encode()
_AVRO = AVRO_CONTENT_TYPE.encode()
_UTC = datetime.timezone.utc
REQUIRED_HEADERS = ("ce_specversion", "ce_id", "ce_source", "ce_type", "ce_time")

Headers = Iterable[tuple[str, bytes | None]] | Mapping[str, bytes | None]


def cloudevent_headers(
    full_name: str,
    source: str,
    id: str | None = None,  # noqa: A002 - the CloudEvents attribute's own name
    time: datetime.datetime | None = None,
) -> list[tuple[str, bytes]]:
    """Headers for a value record `full_name` sent by `source` (`/cities/<code>/<system>` or
    `/bus/<service>`). `id` defaults to a fresh uuid4, `time` to now; `time` must be aware."""
    if time is None:
        time = datetime.datetime.now(_UTC)
    elif time.tzinfo is None:
        raise ValidationError("ce_time", "must be timezone-aware", time)
    return [
        ("ce_specversion", _SPECVERSION),
        ("ce_id", (id or str(uuid.uuid4())).encode()),
        ("ce_source", source.encode()),
        ("ce_type", full_name.encode()),
        ("ce_time", rfc3339(time).encode()),
        ("content-type", _AVRO),
    ]


class CloudEventHeaders:
    """`cloudevent_headers` for one (record, source), made for sending many events: the constant
    headers are built once, `ce_time` is formatted once per millisecond, and `ce_id` is this
    maker's random 128-bit prefix (a uuid4's hex) and a counter, `<32 hex>-<n>`: unique per
    source as CloudEvents requires, without drawing from the OS for every event.

        make = CloudEventHeaders("citybus.insurance.ContributionRecorded", "/cities/440300/hrss")
        headers = make()   # the same six headers as cloudevent_headers, in the same order
    """

    __slots__ = ("_source", "_type", "_prefix", "_counter", "_ms", "_time")

    def __init__(self, full_name: str, source: str) -> None:
        if not full_name or not source:
            raise ValidationError("ce_type" if not full_name else "ce_source", "must be non-empty")
        self._source = ("ce_source", source.encode())
        self._type = ("ce_type", full_name.encode())
        self._prefix = uuid.uuid4().hex + "-"
        self._counter = itertools.count(1)
        self._ms = -1
        self._time = ("ce_time", b"")

    def __call__(self) -> list[tuple[str, bytes]]:
        ms = _time.time_ns() // 1_000_000
        if ms != self._ms:
            self._ms, self._time = ms, ("ce_time", _rfc3339_millis(ms).encode())
        return [
            _SPECVERSION_HEADER,
            ("ce_id", f"{self._prefix}{next(self._counter)}".encode()),
            self._source,
            self._type,
            self._time,
            _CONTENT_TYPE_HEADER,
        ]


_SPECVERSION_HEADER = ("ce_specversion", _SPECVERSION)
_CONTENT_TYPE_HEADER = ("content-type", _AVRO)
_EPOCH = datetime.datetime(1970, 1, 1, tzinfo=_UTC)


def _rfc3339_millis(ms: int) -> str:
    """`rfc3339` of epoch milliseconds, exactly (no float on the way)."""
    return rfc3339(_EPOCH + datetime.timedelta(milliseconds=ms))


def rfc3339(moment: datetime.datetime) -> str:
    """`2026-11-22T08:00:00.123Z`: UTC, milliseconds, as the timestamps on the bus."""
    return moment.astimezone(_UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def parse_cloudevent_headers(headers: Headers) -> dict[str, Any]:
    """The CloudEvents attributes in Kafka headers, by attribute name: `specversion`, `id`,
    `source`, `type`, `time` (aware datetime), `datacontenttype` (from `content-type`) and any
    extension. Headers that are not CloudEvents are ignored; `content-type` is returned, not
    judged. Raises ValidationError naming the header when one of REQUIRED_HEADERS is missing
    or the attributes are not a valid CloudEvent 1.0."""
    items = headers.items() if isinstance(headers, Mapping) else headers
    collected: dict[str, bytes] = {}
    for name, value in items:
        lowered = name.lower()
        if not (lowered.startswith("ce_") or lowered == "content-type"):
            continue
        if value is None:
            raise ValidationError(name, "a CloudEvents header needs a value")
        collected[lowered] = value
    for required in REQUIRED_HEADERS:
        if not collected.get(required):
            raise ValidationError(required, "required by the bus contract (bus.md), missing or empty")
    if collected["ce_specversion"] != _SPECVERSION:
        raise ValidationError("ce_specversion", f"must be {SPECVERSION}", collected["ce_specversion"])
    try:
        event = from_binary(KafkaMessage(headers=collected, key=None, value=b""), _NoData(), CloudEvent)
    except CloudEventValidationError as exc:
        attribute = next(iter(exc.errors), "?")
        raise ValidationError(_header_of(attribute), str(exc)) from exc
    except UnicodeDecodeError as exc:
        raise ValidationError("ce_*", f"CloudEvents headers must be UTF-8: {exc}") from exc
    except (BaseCloudEventException, ValueError, OverflowError) as exc:  # the time is what is parsed
        raise ValidationError("ce_time", f"not an RFC 3339 time: {exc}", collected["ce_time"]) from exc
    attributes = dict(event.get_attributes())
    attributes.pop("data", None)
    attributes["time"] = attributes["time"].astimezone(_UTC)
    return attributes


def _header_of(attribute: str) -> str:
    return "content-type" if attribute == "datacontenttype" else f"ce_{attribute}"


class _NoData:
    """A `cloudevents` Format for the binding: the value is Avro and is not the SDK's business."""

    def read_data(self, body: bytes, datacontenttype: str | None) -> None:
        return None

    def write_data(self, data: Any, datacontenttype: str | None) -> bytes:
        return b""

    def read(self, event_factory: Any, data: str | bytes) -> Any:
        raise NotImplementedError

    def write(self, event: Any) -> bytes:
        raise NotImplementedError

    def get_content_type(self) -> str:  # structured mode only: the bus uses the binary mode
        raise NotImplementedError
