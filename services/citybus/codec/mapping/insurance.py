"""citybus.insurance records <-> the contributions domain."""
from __future__ import annotations

from typing import Any

from citybus.codec.mapping.time import millis
from citybus.domain.contributions import ContributionRecord, RetirementRequest

__all__ = ["contribution_from_avro", "retirement_from_avro"]


def contribution_from_avro(record: dict[str, Any]) -> ContributionRecord:
    return ContributionRecord(
        record_id=record["record_id"],
        revision=record["revision"],
        status=record["status"],
        resident_id=record["resident_id"],
        city=record["city"],
        scheme=record["scheme"],
        insured_kind=record["insured_kind"],
        month=record["month"],
        contribution_base=record["contribution_base"],
        employer_amount=record["employer_amount"],
        employee_amount=record["employee_amount"],
        recorded_at=millis(record["recorded_at"]),
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
