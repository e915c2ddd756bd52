"""The orchestrator's outbound records as (topic, key, value, headers), ready to send."""
from __future__ import annotations

from typing import NamedTuple

from citybus.codec import CloudEventHeaders, default_codec
from citybus.codec.mapping.migration import command_to_avro, request_to_avro, status_to_avro
from citybus.domain.migration import Command, MigrationRequested, PublishStatus, SendCommand

__all__ = ["Outbound", "SOURCE", "REQUESTS_TOPIC", "INDEX_TOPIC", "outbound", "request_out", "index_out"]

SOURCE = "/bus/migration"
REQUESTS_TOPIC = "bus.migration.requests"
# internal topic of the service (6 partitions, compacted): migration_id -> subject_id, for lookups by id
INDEX_TOPIC = "citybus-migration-index"

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


def index_out(migration_id: str, subject_id: str) -> Outbound:
    """migration_id -> subject_id on the index topic (partitioned by migration_id, like its lookups)."""
    return Outbound(INDEX_TOPIC, migration_id.encode(), subject_id.encode(), [])
