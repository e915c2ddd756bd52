"""citybus.household records <-> the zero-click migration request."""
from __future__ import annotations

from typing import Any

from citybus.codec.mapping.time import millis
from citybus.domain.migration import MigrationRequested, household_moved_to_request

__all__ = ["household_moved_from_avro", "household_moved_record"]


def household_moved_from_avro(record: dict[str, Any]) -> MigrationRequested:
    return household_moved_to_request(
        move_id=record["move_id"],
        resident_id=record["resident_id"],
        from_city=record["from_city"],
        to_city=record["to_city"],
        moved_at=millis(record["moved_at"]),
    )


def household_moved_record(move_id: str, resident_id: str, from_city: str, to_city: str, moved_at: int) -> dict[str, Any]:
    """The HouseholdMoved record a city's household registry publishes (timestamps in epoch ms)."""
    return {"move_id": move_id, "resident_id": resident_id, "from_city": from_city, "to_city": to_city,
            "moved_at": moved_at}
