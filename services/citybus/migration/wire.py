"""The orchestrator's outbound records: saga commands as (topic, key, value, headers), ready to send."""
from __future__ import annotations

import json
from typing import Any, NamedTuple

from citybus.codec import cloudevent_headers, encode
from citybus.codec.mapping.migration import command_to_avro, request_to_avro, status_to_avro
from citybus.domain.migration import Command, MigrationRequested, PublishStatus, SagaState, SendCommand, saga_json

__all__ = [
    "Outbound", "SOURCE", "REQUESTS_TOPIC", "TICKS_TOPIC", "VIEWS_TOPIC",
    "outbound", "request_out", "view_out", "view_from_bytes",
]

SOURCE = "/bus/migration"
REQUESTS_TOPIC = "bus.migration.requests"
# internal topics of the service (6 partitions, declared by Faust)
TICKS_TOPIC = "citybus-migration-ticks"  # keyed by subject_id: the timer asks the saga agent to fire deadlines
VIEWS_TOPIC = "citybus-migration-views"  # keyed by migration_id: the HTTP view of every saga, for lookups by id

_RECORDS = {SendCommand: "citybus.migration.MigrationCommand", PublishStatus: "citybus.migration.MigrationStatusChanged"}
_TO_AVRO = {SendCommand: command_to_avro, PublishStatus: status_to_avro}


class Outbound(NamedTuple):
    topic: str
    key: bytes
    value: bytes
    headers: list[tuple[str, bytes]]


def outbound(command: Command) -> Outbound:
    full_name = _RECORDS[type(command)]
    value = encode(full_name, _TO_AVRO[type(command)](command))
    return Outbound(command.topic, command.key.encode(), value, cloudevent_headers(full_name, SOURCE))


def request_out(request: MigrationRequested) -> Outbound:
    full_name = "citybus.migration.MigrationRequested"
    value = encode(full_name, request_to_avro(request))
    return Outbound(REQUESTS_TOPIC, request.subject_id.encode(), value, cloudevent_headers(full_name, SOURCE))


def view_out(state: SagaState) -> Outbound:
    body = {"subject_id": state.subject_id, "final": state.final, "view": saga_json(state)}
    return Outbound(VIEWS_TOPIC, state.migration_id.encode(), json.dumps(body).encode(), [])


def view_from_bytes(raw: bytes) -> dict[str, Any]:
    return json.loads(raw)
