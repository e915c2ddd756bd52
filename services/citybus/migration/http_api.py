"""The HTTP API's rules without a web server: a POST body to a MigrationRequested, and answers."""
from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable
from typing import Any

from citybus.domain.migration import MigrationRequested, validate_request
from citybus.errors import ValidationError

__all__ = ["HTTP_REQUESTER", "request_from_body", "new_migration_id", "error_body", "accepted_body"]

HTTP_REQUESTER = "http"
_FIELDS = ("subject_type", "subject_id", "from_city", "to_city")


def new_migration_id() -> str:
    return f"m-{uuid.uuid4().hex[:16]}"


def request_from_body(
    body: Any, now_ms: int, known_cities: Iterable[str] | None,
    new_id: Callable[[], str] = new_migration_id, requested_by: str = HTTP_REQUESTER,
) -> MigrationRequested:
    """Raise ValidationError naming the broken rule (HTTP 400)."""
    if not isinstance(body, dict):
        raise ValidationError("body", "must be a JSON object")
    for name in _FIELDS:
        if not isinstance(body.get(name), str):
            raise ValidationError(name, "is required and must be a string", body.get(name))
    scopes = body.get("scopes")
    if scopes is None:  # absent: every scope; "" or false is no list, not a request to move everything
        scopes = []
    if not isinstance(scopes, list) or not all(isinstance(s, str) for s in scopes):
        raise ValidationError("scopes", "must be a list of scope names", scopes)
    migration_id = body.get("migration_id")
    if migration_id is None:
        migration_id = new_id()
    elif not isinstance(migration_id, str) or not migration_id.strip():
        raise ValidationError("migration_id", "must be a non-empty string", migration_id)
    request = MigrationRequested(
        migration_id=migration_id, subject_type=body["subject_type"], subject_id=body["subject_id"],
        from_city=body["from_city"], to_city=body["to_city"], scopes=tuple(scopes),
        requested_at=now_ms, requested_by=requested_by,
    )
    validate_request(request, known_cities)
    return request


def error_body(error: ValidationError) -> dict[str, Any]:
    return {"error": str(error), "field": error.field, "rule": error.rule, "reason_code": error.reason_code}


def accepted_body(migration_id: str) -> dict[str, str]:
    return {"migration_id": migration_id, "status": "IN_PROGRESS"}
