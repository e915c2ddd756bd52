"""Identifier and field forms of bus.md."""

from decimal import Decimal

import pytest

from citybus.domain.ids import (
    enterprise_id_check_char, month_from_index, month_index, to_money, validate_city_code,
    validate_enterprise_id, validate_month, validate_resident_id,
)
from citybus.errors import ValidationError


@pytest.mark.parametrize("rid", ["440301199001011234", "11010519491231002X", "310101198001010018"])
def test_valid_resident_ids(rid):
    assert validate_resident_id(rid) == rid


@pytest.mark.parametrize("rid, rule", [
    ("440301199001011235", "check character must be '4'"),
    ("44030119900101123", "18 characters"),
    ("44030119900101123x", "check character"),
    ("4403011990O1011234", "digits"),
    (None, "18 characters"),
])
def test_bad_resident_ids_name_the_rule(rid, rule):
    with pytest.raises(ValidationError, match=rule) as err:
        validate_resident_id(rid)
    assert err.value.field == "resident_id" and err.value.reason_code == "INVALID_FIELD"


def test_enterprise_id_check_character_of_a_published_code():
    # 91350100M000100Y43 is the GB 32100 standard's own worked example
    assert enterprise_id_check_char("91350100M000100Y4") == "3"
    assert validate_enterprise_id("91350100M000100Y43")


@pytest.mark.parametrize("eid, rule", [
    ("91350100M000100Y44", "check character must be '3'"),
    ("91350100M000100I43", "not in the code alphabet"),
    ("9135", "18 characters"),
])
def test_bad_enterprise_ids(eid, rule):
    with pytest.raises(ValidationError, match=rule):
        validate_enterprise_id(eid)


def test_city_codes_unknown_is_its_own_reason():
    assert validate_city_code("440300", {"440300"}) == "440300"
    with pytest.raises(ValidationError) as err:
        validate_city_code("110000", {"440300"})
    assert err.value.reason_code == "UNKNOWN_CITY"
    with pytest.raises(ValidationError, match="6-digit"):
        validate_city_code("44030")


@pytest.mark.parametrize("code", ["440300\n", "\u0664\u0664\u0660\u0663\u0660\u0660"])
def test_city_codes_are_six_ascii_digits_and_nothing_after(code):
    with pytest.raises(ValidationError, match="6-digit"):
        validate_city_code(code)


@pytest.mark.parametrize("month", ["2024-13", "2024-00", "2024-1", "24-01", "", "2024-01\n",
                                   "\uff12\uff10\uff12\uff14-01", "2024-0\u0661"])
def test_bad_months(month):
    with pytest.raises(ValidationError, match="YYYY-MM"):
        validate_month(month)


def test_month_index_is_consecutive_across_years():
    assert month_index("2020-12") + 1 == month_index("2021-01")
    assert month_from_index(month_index("1998-01")) == "1998-01"


@pytest.mark.parametrize("value, ok", [("1234.50", "1234.50"), ("0", "0.00"), ("7.5", "7.50"), ("-1.00", None),
                                       ("1.005", None), ("1e20", None), ("abc", None), ("NaN", None)])
def test_money(value, ok):
    if ok:
        assert str(to_money(value)) == ok  # exactly two places
    else:
        with pytest.raises(ValidationError):
            to_money(value)


@pytest.mark.parametrize("value", [Decimal("1" * 29 + ".00"), Decimal(-10**700).scaleb(-2), "9" * 40 + ".5"])
def test_an_amount_with_more_digits_than_decimal_arithmetic_keeps_is_refused_as_too_large(value):
    """An Avro decimal(14,2) carries any number of bytes: 30 digits made quantize raise InvalidOperation
    (the context keeps 28) and the aggregation stopped on that record at every replay."""
    with pytest.raises(ValidationError, match="exceeds decimal"):
        to_money(value)


def test_values_remembered_as_valid_do_not_let_others_through():
    """The validators remember values that passed (ids and months repeat on every event): the
    remembered ones pass, anything else is still checked, and a remembered city code is still
    refused where the registry does not know it."""
    validate_resident_id("440301199001011234")
    assert validate_resident_id("440301199001011234") == "440301199001011234"
    with pytest.raises(ValidationError, match="check character"):
        validate_resident_id("440301199001011230")
    validate_month("2020-01")
    with pytest.raises(ValidationError, match="YYYY-MM"):
        validate_month("2020-13")
    assert validate_city_code("440300", frozenset({"440300"})) == "440300"
    with pytest.raises(ValidationError) as unknown:
        validate_city_code("440300", frozenset({"442000"}))
    assert unknown.value.reason_code == "UNKNOWN_CITY"
    with pytest.raises(ValidationError, match="6-digit"):
        validate_city_code("44030")
