"""citybus.migration records <-> the saga's events."""
from __future__ import annotations

from typing import Any

from citybus.codec.mapping.time import millis
from citybus.domain.migration import MigrationRequested, ReplyReceived

__all__ = ["request_from_avro", "reply_from_avro"]


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
