"""Field rules a MigrationRequested must meet; a broken one is named in a ValidationError."""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from citybus.domain.ids import utf8_size, validate_city_code, validate_enterprise_id, validate_resident_id
from citybus.domain.migration.messages import MigrationRequested
from citybus.domain.migration.plan import scopes_of
from citybus.domain.migration.vocabulary import Scope, SubjectType
from citybus.errors import ValidationError

__all__ = ["ValidRequest", "validate_request", "refusal_reason", "check_size", "MAX_ID_BYTES", "MAX_REASON_BYTES",
           "MAX_PACKAGE_BYTES", "MAX_COMMAND_ID_BYTES"]

# Limits of this service (migration.md sets none). Whatever a request or a reply carries is kept in
# the subject's state, and quoted in statuses and commands: each must fit in one Kafka record.
MAX_ID_BYTES = 128  # migration_id, requested_by (a household move's move_id: 5 fewer, for "move-")
MAX_COMMAND_ID_BYTES = MAX_ID_BYTES + len("/TAX_REGISTRATION/TRANSFER_OUT")  # migration_id/scope/step
MAX_REASON_BYTES = 1_000  # a city's reply reason
MAX_PACKAGE_BYTES = 65_536  # a reply's package: its keys and values, in UTF-8


@dataclass(frozen=True)
class ValidRequest:
    """A request that passed every field rule, with its scopes resolved (empty means all)."""

    subject_type: SubjectType
    scopes: tuple[Scope, ...]


def validate_request(request: MigrationRequested, known_cities: Iterable[str] | None = None) -> ValidRequest:
    """Raise ValidationError naming the first broken rule; HTTP answers it with 400."""
    if not isinstance(request.migration_id, str) or not request.migration_id.strip():
        raise ValidationError("migration_id", "must be a non-empty string", request.migration_id)
    check_size("migration_id", request.migration_id, MAX_ID_BYTES)
    check_size("requested_by", request.requested_by, MAX_ID_BYTES)
    try:
        subject_type = SubjectType(request.subject_type)
    except ValueError as exc:
        raise ValidationError("subject_type", "must be PERSON or ENTERPRISE", request.subject_type) from exc
    if subject_type is SubjectType.PERSON:
        validate_resident_id(request.subject_id, field="subject_id")
    else:
        validate_enterprise_id(request.subject_id, field="subject_id")
    known = None if known_cities is None else frozenset(known_cities)
    validate_city_code(request.from_city, known, field="from_city")
    validate_city_code(request.to_city, known, field="to_city")
    if request.from_city == request.to_city:
        raise ValidationError("to_city", "must differ from from_city", request.to_city)
    return ValidRequest(subject_type, _resolve_scopes(subject_type, request.scopes))


def _resolve_scopes(subject_type: SubjectType, requested: Iterable[str]) -> tuple[Scope, ...]:
    allowed = scopes_of(subject_type)
    resolved: list[Scope] = []
    for name in requested:
        try:
            scope = Scope(name)
        except ValueError as exc:
            raise ValidationError("scopes", f"{name!r} is not a scope", name) from exc
        if scope not in allowed:
            raise ValidationError("scopes", f"{scope} is not a scope of {subject_type}", name)
        if scope not in resolved:  # a repeated scope asks for nothing more
            resolved.append(scope)
    return tuple(resolved) or allowed


def check_size(field: str, value: object, limit: int) -> None:
    """A string (or a map of strings, counted key and value) of at most `limit` bytes in UTF-8."""
    if isinstance(value, str):
        size = utf8_size(value)
    elif isinstance(value, dict):
        size = sum(utf8_size(str(k)) + utf8_size(str(v)) for k, v in value.items())
    else:
        return
    if size > limit:
        raise ValidationError(field, f"must be at most {limit} bytes in UTF-8 (is {size})", value)


def refusal_reason(error: ValidationError) -> str:
    """The status `reason` for a request refused by a field rule, e.g.
    `UNKNOWN_CITY: from_city: not a city in the participant registry (got '999999')`."""
    return f"{error.reason_code}: {error}"
