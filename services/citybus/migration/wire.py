"""The orchestrator's outbound records as (topic, key, value, headers), ready to send."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

from aiokafka.structs import ConsumerRecord

from citybus.codec import CloudEventHeaders, default_codec
from citybus.codec.mapping.migration import command_to_avro, request_to_avro, status_to_avro
from citybus.domain.migration import Command, MigrationRequested, PublishStatus, SendCommand
from citybus.streams.origin import forward_headers

__all__ = ["Outbound", "SOURCE", "REQUESTS_TOPIC", "CLAIMS_TOPIC", "CLAIMED_TOPIC", "outbound", "request_out",
           "forwarded"]

SOURCE = "/bus/migration"
REQUESTS_TOPIC = "bus.migration.requests"
# Internal topics of the service (6 partitions, like every topic). A request whose migration_id
# lives in a partition another worker owns is claimed there first: forwarded, bytes untouched, to
# CLAIMS (keyed by migration_id), and once claimed to CLAIMED (keyed by subject_id), where its
# saga starts; headers keep where it was first published (citybus.streams.origin).
CLAIMS_TOPIC = "citybus-migration-claims"
CLAIMED_TOPIC = "citybus-migration-claimed"

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
        self._encode: Callable[[dict[str, Any]], bytes] | None = None
        self._headers: CloudEventHeaders | None = None

    def __call__(self, record: dict[str, Any]) -> tuple[bytes, list[tuple[str, bytes]]]:
        encode, headers = self._encode, self._headers
        if encode is None or headers is None:
            encode = self._encode = default_codec().encoder(self.full_name)
            headers = self._headers = CloudEventHeaders(self.full_name, SOURCE)
        return encode(record), headers()


_COMMAND_WRITER = _Writer(_COMMAND)
_STATUS_WRITER = _Writer(_STATUS)
_REQUEST_WRITER = _Writer(_REQUEST)


def outbound(command: Command) -> Outbound:
    if isinstance(command, SendCommand):
        value, headers = _COMMAND_WRITER(command_to_avro(command))
    elif isinstance(command, PublishStatus):
        value, headers = _STATUS_WRITER(status_to_avro(command))
    else:
        raise TypeError(f"not a saga command: {type(command).__name__}")
    return Outbound(command.topic, command.key.encode(), value, headers)


def request_out(request: MigrationRequested) -> Outbound:
    value, headers = _REQUEST_WRITER(request_to_avro(request))
    return Outbound(REQUESTS_TOPIC, request.subject_id.encode(), value, headers)


def forwarded(record: ConsumerRecord, topic: str, key: bytes) -> Outbound:
    """`record` as first published (see citybus.streams.origin) to one of the internal topics."""
    return Outbound(topic, key, record.value, forward_headers(record))
