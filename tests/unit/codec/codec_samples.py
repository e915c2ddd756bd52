"""One realistic record per record type of the contract, for the codec tests."""
from __future__ import annotations

import datetime
from decimal import Decimal
from typing import Any

UTC = datetime.timezone.utc
RESIDENT = "440301199001011234"  # valid GB 11643 check character (the spec's example)
ENTERPRISE = "91440300MA5EXAMPLA"  # valid GB 32100 check character


def _at(*args: int) -> datetime.datetime:
    return datetime.datetime(*args, tzinfo=UTC)


SAMPLES: dict[str, dict[str, Any]] = {
    "citybus.insurance.ContributionRecorded": {
        "record_id": "SZ-2024-000123", "revision": 2, "status": "ACTIVE", "resident_id": RESIDENT,
        "city": "440300", "scheme": "PENSION", "insured_kind": "EMPLOYEE", "month": "2024-03",
        "contribution_base": Decimal("10000.00"), "employer_amount": Decimal("1600.00"),
        "employee_amount": Decimal("800.00"), "recorded_at": _at(2024, 4, 2, 8, 30, 15, 250000),
    },
    "citybus.insurance.RetirementRequested": {
        "request_id": "r-1", "resident_id": RESIDENT, "city": "442000", "hukou_city": "440300",
        "retirement_date": datetime.date(2050, 1, 1), "requested_at": _at(2049, 11, 3, 2, 0),
    },
    "citybus.insurance.ContributionSummary": {
        "resident_id": RESIDENT, "scheme": "PENSION", "total_months": 171,
        "months_by_city": {"440300": 132, "442000": 39}, "first_month": "2010-01", "last_month": "2024-03",
        "last_city": "442000", "duplicate_months": 1,
        "refunds": [{"city": "442000", "record_id": "ZS-77", "month": "2020-12", "amount": Decimal("480.00")}],
        "updated_at": _at(2024, 4, 2, 8, 30, 16),
    },
    "citybus.insurance.RetirementStatement": {
        "request_id": "r-1", "resident_id": RESIDENT, "city": "442000", "hukou_city": "440300", "revision": 1,
        "pension": {
            "total_months": 171, "months_by_city": {"440300": 132, "442000": 39}, "eligible": False,
            "payable_city": "440300",
            "transfers": [{"from_city": "442000", "pooled_fund": Decimal("28080.00"),
                           "individual_account": Decimal("18720.00")}],
        },
        "medical": {"total_months": 250, "local_months": 70, "required_total_months": 300,
                    "required_local_months": 120, "eligible": False, "shortfall_months": 50},
        "issued_at": _at(2049, 11, 3, 2, 0, 1),
    },
    "citybus.household.HouseholdMoved": {
        "move_id": "hm-42", "resident_id": RESIDENT, "from_city": "440300", "to_city": "442000",
        "moved_at": _at(2026, 11, 22, 8, 0),
    },
    "citybus.migration.MigrationRequested": {
        "migration_id": "m-1", "subject_type": "ENTERPRISE", "subject_id": ENTERPRISE, "from_city": "310000",
        "to_city": "320500", "scopes": ["TAX_REGISTRATION"], "requested_at": _at(2026, 11, 22, 8, 0),
        "requested_by": "portal:310000",
    },
    "citybus.migration.MigrationCommand": {
        "command_id": "m-1/PENSION/TRANSFER_IN", "migration_id": "m-1", "scope": "PENSION", "step": "TRANSFER_IN",
        "subject_type": "PERSON", "subject_id": RESIDENT, "from_city": "440300", "to_city": "442000",
        "attempt": 2, "deadline": _at(2026, 12, 12, 8, 0),
        "package": {"individual_account": "18720.00", "months": "132"},
    },
    "citybus.migration.MigrationReply": {
        "command_id": "m-1/PENSION/PRECHECK", "migration_id": "m-1", "scope": "PENSION", "step": "PRECHECK",
        "city": "442000", "outcome": "REJECTED", "reason": "no acceptance letter", "package": {},
        "replied_at": _at(2026, 11, 22, 8, 0, 2),
    },
    "citybus.migration.MigrationStatusChanged": {
        "migration_id": "m-1", "subject_type": "PERSON", "subject_id": RESIDENT, "from_city": "440300",
        "to_city": "442000", "status": "PARTIAL", "reason": None,
        "scopes": [{"scope": "PENSION", "status": "COMPLETED", "step": "TRANSFER_IN"},
                   {"scope": "MEDICAL", "status": "REVERTED", "step": "REVERT_OUT"}],
        "updated_at": _at(2026, 11, 22, 8, 0, 3),
    },
    "citybus.bus.RejectedEvent": {
        "source_topic": "city.440300.insurance.contributions", "partition": 3, "offset": 9_876_543_210,
        "key": RESIDENT.encode(), "value": b"\x00\x01garbage", "headers": {"ce_type": "x.Y"},
        "reason_code": "UNDECODABLE", "reason": "not Avro single-object encoded: starts with 00 01",
        "service": "aggregation", "rejected_at": _at(2026, 11, 22, 8, 0, 4),
    },
}


# a record with a decimal that leaves out its scale (Avro's default: 0) beside one with scale 2; no bus
# schema leaves it out, so the fast reader and writer are checked against fastavro on this one
SCALELESS_AMOUNTS = {"type": "record", "name": "citybus.test.Amounts", "fields": [
    {"name": "whole", "type": {"type": "bytes", "logicalType": "decimal", "precision": 5}},
    {"name": "cents", "type": {"type": "bytes", "logicalType": "decimal", "precision": 6, "scale": 2}}]}
SCALELESS_AMOUNTS_RECORD = {"whole": Decimal("12345"), "cents": Decimal("1234.56")}
