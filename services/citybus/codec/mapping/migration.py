"""citybus.migration records <-> the saga's events."""
from __future__ import annotations

from typing import Any

from citybus.codec.mapping.time import millis
from citybus.domain.migration import MigrationRequested, PublishStatus, ReplyReceived, SendCommand

__all__ = [
    "request_from_avro", "reply_from_avro", "command_from_avro",
    "request_to_avro", "reply_to_avro", "command_to_avro", "status_to_avro",
]


def request_from_avro(record: dict[str, Any]) -> MigrationRequested:
    return MigrationRequested(
        migration_id=record["migration_id"],
        subject_type=record["subject_type"],
        subject_id=record["subject_id"],
        from_city=record["from_city"],
        to_city=record["to_city"],
        scopes=tuple(record["scopes"]),
        requested_at=millis(record["requested_at"]),
        requested_by=record["requested_by"],
    )


def reply_from_avro(record: dict[str, Any]) -> ReplyReceived:
    return ReplyReceived(
        command_id=record["command_id"],
        migration_id=record["migration_id"],
        scope=record["scope"],
        step=record["step"],
        city=record["city"],
        outcome=record["outcome"],
        reason=record["reason"],
        package=record["package"],
        replied_at=millis(record["replied_at"]),
    )


# outbound: domain -> the records' fields (timestamps as epoch milliseconds, which fastavro takes)

def request_to_avro(request: MigrationRequested) -> dict[str, Any]:
    return {
        "migration_id": request.migration_id,
        "subject_type": str(request.subject_type),
        "subject_id": request.subject_id,
        "from_city": request.from_city,
        "to_city": request.to_city,
        "scopes": [str(scope) for scope in request.scopes],
        "requested_at": request.requested_at,
        "requested_by": request.requested_by,
    }


def reply_to_avro(reply: ReplyReceived) -> dict[str, Any]:
    return {
        "command_id": reply.command_id,
        "migration_id": reply.migration_id,
        "scope": str(reply.scope),
        "step": str(reply.step),
        "city": reply.city,
        "outcome": str(reply.outcome),
        "reason": reply.reason,
        "package": dict(reply.package),
        "replied_at": reply.replied_at,
    }


def command_to_avro(command: SendCommand) -> dict[str, Any]:
    return command.record()


def status_to_avro(status: PublishStatus) -> dict[str, Any]:
    return status.record()


def command_from_avro(record: dict[str, Any]) -> SendCommand:
    """A MigrationCommand as a city reads it; `city` is left empty (the topic names it)."""
    return SendCommand(
        command_id=record["command_id"],
        migration_id=record["migration_id"],
        scope=record["scope"],
        step=record["step"],
        subject_type=record["subject_type"],
        subject_id=record["subject_id"],
        from_city=record["from_city"],
        to_city=record["to_city"],
        attempt=record["attempt"],
        deadline=millis(record["deadline"]),
        package=record["package"],
    )
