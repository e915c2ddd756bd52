"""The orchestrator's outbound records as (topic, key, value, headers), ready to send."""
from __future__ import annotations

from dataclasses import replace
from typing import NamedTuple

from aiokafka.structs import ConsumerRecord

from citybus.codec import CloudEventHeaders, default_codec
from citybus.codec.mapping.migration import command_to_avro, request_to_avro, status_to_avro
from citybus.domain.migration import Command, MigrationRequested, PublishStatus, SendCommand

__all__ = ["Outbound", "SOURCE", "REQUESTS_TOPIC", "CLAIMS_TOPIC", "CLAIMED_TOPIC", "ORIGIN_HEADER", "ORIGIN_KEY_HEADER", "outbound",
           "request_out", "forwarded", "origin_of"]

SOURCE = "/bus/migration"
REQUESTS_TOPIC = "bus.migration.requests"
# Internal topics of the service (6 partitions, like every topic). A request whose migration_id
# lives in a partition another worker owns is claimed there first: forwarded, bytes untouched, to
# CLAIMS (keyed by migration_id), and once claimed to CLAIMED (keyed by subject_id), where its
# saga starts. ORIGIN_HEADER keeps where it was first published, "topic/partition/offset/timestamp",
# and ORIGIN_KEY_HEADER its key.
CLAIMS_TOPIC = "citybus-migration-claims"
CLAIMED_TOPIC = "citybus-migration-claimed"
ORIGIN_HEADER = "citybus-origin"
ORIGIN_KEY_HEADER = "citybus-origin-key"
_ORIGIN = (ORIGIN_HEADER, ORIGIN_KEY_HEADER)

_COMMAND = "citybus.migration.MigrationCommand"
_STATUS = "citybus.migration.MigrationStatusChanged"
_REQUEST = "citybus.migration.MigrationRequested"


class Outbound(NamedTuple):
    topic: str
    key: bytes
    value: bytes
    headers: list[tuple[str, bytes]]


class _Writer:
    """One record type: its encoder and CloudEvents headers, looked up once."""

    def __init__(self, full_name: str) -> None:
        self.full_name = full_name
        self._encode = None
        self._headers = None

    def __call__(self, record: dict) -> tuple[bytes, list[tuple[str, bytes]]]:
        if self._encode is None:
            self._encode = default_codec().encoder(self.full_name)
            self._headers = CloudEventHeaders(self.full_name, SOURCE)
        return self._encode(record), self._headers()


_WRITERS = {SendCommand: (_Writer(_COMMAND), command_to_avro), PublishStatus: (_Writer(_STATUS), status_to_avro)}
_REQUEST_WRITER = _Writer(_REQUEST)


def outbound(command: Command) -> Outbound:
    writer, to_avro = _WRITERS[type(command)]
    value, headers = writer(to_avro(command))
    return Outbound(command.topic, command.key.encode(), value, headers)


def request_out(request: MigrationRequested) -> Outbound:
    value, headers = _REQUEST_WRITER(request_to_avro(request))
    return Outbound(REQUESTS_TOPIC, request.subject_id.encode(), value, headers)


def forwarded(record: ConsumerRecord, topic: str, key: bytes) -> Outbound:
    """`record` (an original input, or a forwarded one) to one of the internal topics, its origin kept."""
    headers = list(record.headers or ())
    if not any(name == ORIGIN_HEADER for name, _ in headers):
        origin = f"{record.topic}/{record.partition}/{record.offset}/{record.timestamp}".encode()
        headers += [(ORIGIN_HEADER, origin), (ORIGIN_KEY_HEADER, record.key or b"")]
    return Outbound(topic, key, record.value, headers)


def origin_of(record: ConsumerRecord) -> ConsumerRecord | None:
    """A forwarded record as it was first published (topic, partition, offset, time, key, headers);
    None when its origin header is missing or malformed."""
    headers = list(record.headers or ())
    found = dict(headers)
    origin, key = found.get(ORIGIN_HEADER), found.get(ORIGIN_KEY_HEADER)
    try:
        topic, partition, offset, timestamp = origin.decode().rsplit("/", 3)  # type: ignore[union-attr]
        if key is None:
            return None
        return replace(record, topic=topic, partition=int(partition), offset=int(offset), timestamp=int(timestamp),
                       key=key or None, headers=tuple(h for h in headers if h[0] not in _ORIGIN))
    except (AttributeError, ValueError, UnicodeDecodeError):
        return None
