"""citybus.household records <-> the zero-click migration request."""
from __future__ import annotations

from typing import Any

from citybus.codec.mapping.time import millis
from citybus.domain.migration import MigrationRequested, household_moved_to_request

__all__ = ["household_moved_from_avro"]


def household_moved_from_avro(record: dict[str, Any]) -> MigrationRequested:
    return household_moved_to_request(
        move_id=record["move_id"],
        resident_id=record["resident_id"],
        from_city=record["from_city"],
        to_city=record["to_city"],
        moved_at=millis(record["moved_at"]),
    )
