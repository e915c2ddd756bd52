import dataclasses
import datetime as dt
from decimal import Decimal

import pytest

from citybus.domain.contributions import (
    check_topic_city,
    validate_contribution,
    validate_retirement_request,
)
from citybus.errors import ValidationError

from .factories import CITIES, P, RECORDED_AT, rec, request

BAD_CHECK = P[:17] + ("0" if P[17] != "0" else "1")
JAN_2025_START = int(dt.datetime(2025, 1, 1, tzinfo=dt.timezone.utc).timestamp() * 1000)


@pytest.mark.parametrize("revision", [1, 2**31 - 1], ids=["first", "largest-avro-int"])
def test_a_valid_record_passes(revision):
    record = rec(revision=revision)
    assert validate_contribution(record, CITIES) is record


@pytest.mark.parametrize(
    ("changes", "field", "rule", "reason_code"),
    [
        ({"record_id": ""}, "record_id", "non-empty", "INVALID_FIELD"),
        ({"record_id": None}, "record_id", "non-empty", "INVALID_FIELD"),
        ({"record_id": "R" * 65}, "record_id", "64 bytes", "INVALID_FIELD"),
        ({"record_id": "缴" * 22}, "record_id", "64 bytes", "INVALID_FIELD"),  # 22 characters, 66 bytes
        ({"record_id": "\U0001f600" * 17}, "record_id", "64 bytes", "INVALID_FIELD"),  # 17 characters, 68 bytes
        ({"revision": 0}, "revision", ">= 1", "INVALID_FIELD"),
        ({"revision": -3}, "revision", ">= 1", "INVALID_FIELD"),
        ({"revision": True}, "revision", "integer", "INVALID_FIELD"),
        ({"revision": "2"}, "revision", "integer", "INVALID_FIELD"),
        ({"revision": 2**31}, "revision", "integer", "INVALID_FIELD"),  # Avro int: the record could not be encoded
        ({"status": "CANCELLED"}, "status", "ACTIVE, REVERSED", "INVALID_FIELD"),
        ({"resident_id": BAD_CHECK}, "resident_id", "check character", "INVALID_FIELD"),
        ({"resident_id": "44030119650101001"}, "resident_id", "18 characters", "INVALID_FIELD"),
        ({"city": "4403"}, "city", "6-digit", "INVALID_FIELD"),
        ({"city": "999999"}, "city", "registry", "UNKNOWN_CITY"),
        ({"scheme": "HOUSING_FUND"}, "scheme", "PENSION", "INVALID_FIELD"),
        ({"insured_kind": "RETIRED"}, "insured_kind", "EMPLOYEE, RESIDENT", "INVALID_FIELD"),
        ({"month": "2010-13"}, "month", "YYYY-MM", "INVALID_FIELD"),
        ({"month": "2010-1"}, "month", "YYYY-MM", "INVALID_FIELD"),
        ({"month": "2010-01\n"}, "month", "YYYY-MM", "INVALID_FIELD"),  # not counted as 2010-01
        ({"month": "1\u0669\u0669\u0665-01"}, "month", "YYYY-MM", "INVALID_FIELD"),  # Arabic-Indic 995: not 1995-01
        ({"city": "440300\n"}, "city", "6-digit", "INVALID_FIELD"),
        ({"month": "1989-12"}, "month", "1990-01 or later", "INVALID_FIELD"),
        ({"month": "2025-02"}, "month", "recorded_at", "INVALID_FIELD"),
        ({"recorded_at": "yesterday"}, "recorded_at", "timestamp-millis", "INVALID_FIELD"),
        ({"recorded_at": 10**20}, "recorded_at", "range", "INVALID_FIELD"),
        ({"contribution_base": Decimal("-0.01")}, "contribution_base", ">= 0", "INVALID_FIELD"),
        ({"contribution_base": Decimal("1.001")}, "contribution_base", "two decimal", "INVALID_FIELD"),
        ({"employer_amount": Decimal("-1")}, "employer_amount", ">= 0", "INVALID_FIELD"),
        ({"employer_amount": Decimal("NaN")}, "employer_amount", "finite", "INVALID_FIELD"),
        ({"employee_amount": Decimal("0.125")}, "employee_amount", "two decimal", "INVALID_FIELD"),
        ({"employee_amount": Decimal("1E+13")}, "employee_amount", "decimal(14,2)", "INVALID_FIELD"),
        ({"employee_amount": 80.0}, "employee_amount", "Decimal", "INVALID_FIELD"),
    ],
)
def test_each_contribution_rule_names_its_field(changes, field, rule, reason_code):
    with pytest.raises(ValidationError) as caught:
        validate_contribution(dataclasses.replace(rec(), **changes), CITIES)
    assert caught.value.field == field
    assert rule in caught.value.rule
    assert caught.value.reason_code == reason_code
    assert field in str(caught.value)


@pytest.mark.parametrize(
    ("month", "recorded_at", "valid"),
    [
        ("1990-01", RECORDED_AT, True),
        ("2025-01", JAN_2025_START, True),  # the month of recorded_at itself, from its first millisecond
        ("2024-12", JAN_2025_START - 1, True),
        ("2025-01", JAN_2025_START - 1, False),  # 2024-12-31T23:59:59.999Z: still December in UTC
    ],
)
def test_month_is_bounded_by_the_utc_month_of_recorded_at(month, recorded_at, valid):
    record = rec(month=month, recorded_at=recorded_at)
    if valid:
        validate_contribution(record, CITIES)
    else:
        with pytest.raises(ValidationError, match="month"):
            validate_contribution(record, CITIES)


@pytest.mark.parametrize("amount", ["0", "0.00", "12.5", "999999999999.99"])
def test_amount_edges_accepted(amount):
    validate_contribution(rec(base=amount, employer=amount, employee=amount), CITIES)


def test_topic_city_mismatch_is_wrong_city():
    check_topic_city("440300", "440300")
    with pytest.raises(ValidationError) as caught:
        check_topic_city("440300", "442000")
    assert (caught.value.field, caught.value.reason_code) == ("city", "WRONG_CITY")


def test_a_valid_retirement_request_passes():
    validate_retirement_request(request(), CITIES)


@pytest.mark.parametrize("identifier", ["R" * 64, "缴" * 21 + "R"])  # 64 bytes in UTF-8, the most
def test_identifiers_up_to_64_bytes_pass(identifier):
    validate_contribution(rec(record_id=identifier), CITIES)
    validate_retirement_request(request(request_id=identifier), CITIES)


@pytest.mark.parametrize(
    ("changes", "field", "reason_code"),
    [
        ({"request_id": ""}, "request_id", "INVALID_FIELD"),
        ({"request_id": "r" * 65}, "request_id", "INVALID_FIELD"),
        ({"resident_id": BAD_CHECK}, "resident_id", "INVALID_FIELD"),
        ({"city": "123456"}, "city", "UNKNOWN_CITY"),
        ({"city": "12345X"}, "city", "INVALID_FIELD"),
        ({"hukou_city": "110000"}, "hukou_city", "UNKNOWN_CITY"),
        ({"hukou_city": ""}, "hukou_city", "INVALID_FIELD"),
        ({"retirement_date": "2025-03-01"}, "retirement_date", "INVALID_FIELD"),
        ({"retirement_date": dt.datetime(2025, 3, 1)}, "retirement_date", "INVALID_FIELD"),
        ({"requested_at": 1.5}, "requested_at", "INVALID_FIELD"),
    ],
)
def test_each_retirement_rule_names_its_field(changes, field, reason_code):
    with pytest.raises(ValidationError) as caught:
        validate_retirement_request(dataclasses.replace(request(), **changes), CITIES)
    assert (caught.value.field, caught.value.reason_code) == (field, reason_code)


def test_the_month_of_recorded_at_is_exact_across_boundaries_in_any_order():
    """_month_of keeps the span of the month last asked for: asked in a random order around
    month ends (and far away), it still answers what the plain UTC conversion answers."""
    import datetime as dt
    import random

    from citybus.domain.contributions.records import _month_of

    rng = random.Random(5)
    ends = [int(dt.datetime(y, m, 1, tzinfo=dt.timezone.utc).timestamp() * 1000)
            for y in (1970, 1999, 2000, 2024, 2025, 2100, 9999) for m in range(1, 13)]
    asked = [e + d for e in ends for d in (-1001, -1, 0, 1, 999)] + [rng.randrange(-(10**12), 2 * 10**14)
                                                                    for _ in range(2000)]
    rng.shuffle(asked)
    for millis in asked * 2:
        moment = dt.datetime.fromtimestamp(millis / 1000, tz=dt.timezone.utc)
        assert _month_of(millis) == f"{moment.year:04d}-{moment.month:02d}", millis


@pytest.mark.parametrize("years", [-1, 1], ids=["a-year-earlier", "a-year-later"])
def test_a_month_asked_after_the_same_month_of_another_year_is_its_own(years):
    """The kept span is in epoch milliseconds: it must not match the same month of a neighbouring year."""
    validate_contribution(rec(month="2024-12", recorded_at=RECORDED_AT), CITIES)  # keeps January 2025
    other = RECORDED_AT + years * 366 * 24 * 3600 * 1000  # January 2024 or January 2026, mid-month
    validate_contribution(rec(month=f"{2025 + years}-01", recorded_at=other), CITIES)
    with pytest.raises(ValidationError, match="recorded_at"):
        validate_contribution(rec(month=f"{2025 + years}-02", recorded_at=other), CITIES)


def test_the_first_millisecond_of_a_month_asked_right_after_the_last_of_the_one_before_is_its_own():
    """The kept span ends before the next month's first millisecond: a batch recorded across
    midnight UTC on the 1st counts its later records in the new month."""
    validate_contribution(rec(month="2024-12", recorded_at=JAN_2025_START - 1), CITIES)  # keeps December 2024
    validate_contribution(rec(month="2025-01", recorded_at=JAN_2025_START), CITIES)


def test_an_amount_seen_valid_does_not_make_a_bad_one_pass():
    good = rec(base="8000.00")
    validate_contribution(good, CITIES)
    for bad in ("8000.001", "-8000.00", "NaN", "sNaN", "1E+20"):
        with pytest.raises(ValidationError) as raised:
            validate_contribution(rec(base="8000.00", employee=bad) if bad != "sNaN" else
                                  rec(employee=Decimal(bad)), CITIES)
        assert raised.value.field == "employee_amount"
