"""Field rules per record type, for the intake: a decoded dict in, a checked domain object out."""
from __future__ import annotations

from typing import Any

from citybus.catalog import Catalog
from citybus.bus.intake import Direct
from citybus.codec.mapping import (
    CONTRIBUTION_FIELDS, build_contribution, contribution_from_avro, household_moved_from_avro, reply_from_avro, request_from_avro, retirement_from_avro,
)
from citybus.codec.mapping.migration import command_from_avro
from citybus.codec.mapping.time import millis
from citybus.domain.contributions import check_contribution, validate_contribution, validate_retirement_request
from citybus.domain.ids import validate_city_code, validate_resident_id
from citybus.domain.migration.validation import (
    MAX_COMMAND_ID_BYTES, MAX_ID_BYTES, MAX_PACKAGE_BYTES, MAX_REASON_BYTES, check_size,
)
from citybus.errors import ValidationError

__all__ = ["VALIDATORS", "PUBLISH_CHECKS", "DIRECT"]


def _contribution(record: dict[str, Any], catalog: Catalog) -> Any:
    return validate_contribution(contribution_from_avro(record), catalog.city_codes)


def _contribution_fields(record: dict[str, Any], catalog: Catalog) -> None:
    """The same rules as `_contribution`, on the Avro-form dict, without building the domain record
    (a publisher only needs to know the record passes; measured: a tenth of its time per event)."""
    check_contribution(record["record_id"], record["revision"], record["status"], record["resident_id"],
                       record["city"], record["scheme"], record["insured_kind"], record["month"],
                       record["contribution_base"], record["employer_amount"], record["employee_amount"],
                       millis(record["recorded_at"]), catalog.city_codes)


def _retirement(record: dict[str, Any], catalog: Catalog) -> Any:
    return validate_retirement_request(retirement_from_avro(record), catalog.city_codes)


def _non_empty(record: dict[str, Any], field: str) -> None:
    if not record.get(field):
        raise ValidationError(field, "must be a non-empty string", record.get(field))


def _household_move(record: dict[str, Any], catalog: Catalog) -> Any:
    _non_empty(record, "move_id")
    check_size("move_id", record["move_id"], MAX_ID_BYTES - len("move-"))  # its migration's id: "move-" + move_id
    validate_resident_id(record["resident_id"])
    validate_city_code(record["from_city"], catalog.city_codes, field="from_city")
    validate_city_code(record["to_city"], catalog.city_codes, field="to_city")
    if record["from_city"] == record["to_city"]:
        raise ValidationError("from_city", "must differ from to_city", record["from_city"])
    return household_moved_from_avro(record)


def _reply(record: dict[str, Any], catalog: Catalog) -> Any:
    _non_empty(record, "command_id")
    _non_empty(record, "migration_id")
    validate_city_code(record["city"], catalog.city_codes)
    check_size("reason", record.get("reason"), MAX_REASON_BYTES)  # kept in the saga, shown in its status
    check_size("package", record.get("package"), MAX_PACKAGE_BYTES)  # kept, and sent on in TRANSFER_IN
    return reply_from_avro(record)


def _request(record: dict[str, Any], catalog: Catalog) -> Any:
    # field rules of a request end the migration REJECTED (migration.md), not in the dead letters;
    # but an id or a requester too long to keep, or to quote in a status, cannot be kept even so
    check_size("migration_id", record["migration_id"], MAX_ID_BYTES)
    check_size("requested_by", record["requested_by"], MAX_ID_BYTES)
    # quoted in its status (and re-keyed by subject_id when misrouted): a request near the broker's
    # limit would make a record over it, which the orchestrator could not send
    for field in ("subject_id", "from_city", "to_city"):
        check_size(field, record[field], MAX_ID_BYTES)
    return request_from_avro(record)


def _command(record: dict[str, Any], catalog: Catalog) -> Any:
    # a city's reply quotes the command's ids (its subject_id as its key, in a package and in a
    # reason too): a command near the broker's limit would make a reply over it, which the adapter
    # could not send (it stopped on that command at every replay). The orchestrator sends no larger.
    _non_empty(record, "command_id")
    _non_empty(record, "migration_id")
    check_size("command_id", record["command_id"], MAX_COMMAND_ID_BYTES)
    for field in ("migration_id", "subject_id", "from_city", "to_city"):
        check_size(field, record[field], MAX_ID_BYTES)
    check_size("package", record["package"], MAX_PACKAGE_BYTES)  # a TRANSFER_IN's: a reply's, sent on
    return command_from_avro(record)


VALIDATORS = {
    "citybus.insurance.ContributionRecorded": _contribution,
    "citybus.insurance.RetirementRequested": _retirement,
    "citybus.household.HouseholdMoved": _household_move,
    "citybus.migration.MigrationReply": _reply,
    "citybus.migration.MigrationRequested": _request,
    "citybus.migration.MigrationCommand": _command,
}

# read straight into the domain record (no dict), where a service has no use for the dict: the
# aggregation, for which decoding, the dict and the mapping were a fifth of its time per event
DIRECT = {
    "citybus.insurance.ContributionRecorded": Direct(
        build_contribution, CONTRIBUTION_FIELDS, lambda record, catalog: validate_contribution(record, catalog.city_codes)),
}

# what a city's publisher runs before it encodes: the field rules, without the domain value
PUBLISH_CHECKS = {**VALIDATORS, "citybus.insurance.ContributionRecorded": _contribution_fields}
