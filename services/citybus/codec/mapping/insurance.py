"""citybus.insurance records <-> the contributions domain."""
from __future__ import annotations

import dataclasses
from decimal import Decimal
from typing import Any

from citybus.codec.mapping.builder import positional_builder
from citybus.codec.mapping.time import millis
from citybus.domain.contributions import (
    ContributionRecord, ContributionSummary, RetirementRequest, RetirementStatement, statement_json,
)

__all__ = [
    "CONTRIBUTION_FIELDS",
    "build_contribution",
    "contribution_from_avro",
    "retirement_from_avro",
    "summary_to_avro",
    "cleared_summary_to_avro",
    "statement_to_avro",
]


# the domain record from the Avro record's field values in order (recorded_at as int millis); once per
# contribution event: half the cost of __init__
build_contribution = positional_builder(ContributionRecord)
CONTRIBUTION_FIELDS = tuple(f.name for f in dataclasses.fields(ContributionRecord))


def contribution_from_avro(record: dict[str, Any]) -> ContributionRecord:
    return build_contribution(
        record["record_id"], record["revision"], record["status"], record["resident_id"], record["city"],
        record["scheme"], record["insured_kind"], record["month"], record["contribution_base"],
        record["employer_amount"], record["employee_amount"], millis(record["recorded_at"]),
    )


def retirement_from_avro(record: dict[str, Any]) -> RetirementRequest:
    return RetirementRequest(
        request_id=record["request_id"],
        resident_id=record["resident_id"],
        city=record["city"],
        hukou_city=record["hukou_city"],
        retirement_date=record["retirement_date"],
        requested_at=millis(record["requested_at"]),
    )


def summary_to_avro(summary: ContributionSummary, updated_at_ms: int) -> dict[str, Any]:
    """`citybus.insurance.ContributionSummary` v1."""
    return {
        "resident_id": summary.resident_id,
        "scheme": summary.scheme,
        "total_months": summary.total_months,
        "months_by_city": dict(summary.months_by_city),
        "first_month": summary.first_month,
        "last_month": summary.last_month,
        "last_city": summary.last_city,
        "duplicate_months": summary.duplicate_months,
        "refunds": [
            {"city": r.city, "record_id": r.record_id, "month": r.month, "amount": r.amount}
            for r in summary.refunds
        ],
        "updated_at": updated_at_ms,
    }


def cleared_summary_to_avro(resident_id: str, scheme: str, updated_at_ms: int) -> dict[str, Any]:
    """The summary of a scheme whose last effective record went away (reversed or moved):
    zero months, the month and city fields null, as the schema allows."""
    return {
        "resident_id": resident_id,
        "scheme": scheme,
        "total_months": 0,
        "months_by_city": {},
        "first_month": None,
        "last_month": None,
        "last_city": None,
        "duplicate_months": 0,
        "refunds": [],
        "updated_at": updated_at_ms,
    }


def statement_to_avro(statement: RetirementStatement, issued_at_ms: int) -> dict[str, Any]:
    """`citybus.insurance.RetirementStatement` v1: the JSON view's fields, amounts as Decimals."""
    return {**statement_json(statement, money=_as_is), "issued_at": issued_at_ms}


def _as_is(amount: Decimal) -> Decimal:
    return amount
