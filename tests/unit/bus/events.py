"""Valid events of every city-written record type, as decoded Avro dicts, for the bus tests."""
import datetime as dt
from decimal import Decimal

UTC = dt.timezone.utc
RESIDENT = "440301199001011234"


def contribution(**changes):
    record = dict(record_id="SZ-1", revision=1, status="ACTIVE", resident_id=RESIDENT, city="440300",
                  scheme="PENSION", insured_kind="EMPLOYEE", month="2020-01",
                  contribution_base=Decimal("10000.00"), employer_amount=Decimal("1600.00"),
                  employee_amount=Decimal("800.00"), recorded_at=dt.datetime(2020, 2, 1, tzinfo=UTC))
    record.update(changes)
    return record


def contribution_json(**changes):
    line = {"type": "ContributionRecorded", "record_id": "SZ-1", "revision": 1, "status": "ACTIVE",
            "resident_id": RESIDENT, "city": "440300", "scheme": "PENSION", "insured_kind": "EMPLOYEE",
            "month": "2020-01", "contribution_base": "10000.00", "employer_amount": "1600.00",
            "employee_amount": "800.00", "recorded_at": "2020-02-01T00:00:00Z"}
    line.update(changes)
    return line


def retirement(**changes):
    record = dict(request_id="r-1", resident_id=RESIDENT, city="440300", hukou_city="440300",
                  retirement_date=dt.date(2025, 1, 1), requested_at=dt.datetime(2025, 1, 1, tzinfo=UTC))
    record.update(changes)
    return record


def household_moved(**changes):
    record = dict(move_id="mv-1", resident_id=RESIDENT, from_city="440300", to_city="442000",
                  moved_at=dt.datetime(2025, 3, 1, tzinfo=UTC))
    record.update(changes)
    return record


def migration_reply(**changes):
    record = dict(command_id="m-1/PENSION/PRECHECK", migration_id="m-1", scope="PENSION", step="PRECHECK",
                  city="442000", outcome="DONE", reason=None, package={},
                  replied_at=dt.datetime(2025, 3, 1, tzinfo=UTC))
    record.update(changes)
    return record
