"""Identifier and field forms of bus.md."""

from decimal import Decimal

import pytest

from citybus.domain import ids
from citybus.domain.ids import (
    enterprise_id_check_char, month_from_index, month_index, resident_id_check_char, to_money, validate_city_code,
    validate_enterprise_id, validate_month, validate_resident_id,
)
from citybus.errors import ValidationError


@pytest.mark.parametrize("rid", ["440301199001011234", "11010519491231002X", "310101198001010018"])
def test_valid_resident_ids(rid):
    assert validate_resident_id(rid) == rid


def gb11643_check(first17):
    """GB 11643's own definition, not the code's weight table: weight 2**(i-1) mod 11 for the
    character at position i counted from the right (the check character is i = 1), check
    (12 - sum mod 11) mod 11, 10 written X."""
    total = sum(int(d) * pow(2, 17 - k, 11) for k, d in enumerate(first17))
    check = (12 - total % 11) % 11
    return "X" if check == 10 else str(check)


def test_the_resident_id_check_character_weighs_every_position_as_gb_11643():
    """One non-zero digit at a time, so every weight counts (the valid ids above have zeros
    where some weights sit)."""
    assert gb11643_check("11010519491231002") == "X"  # the standard's example
    for k in range(17):
        for digit in "123456789":
            first17 = "0" * k + digit + "0" * (16 - k)
            assert resident_id_check_char(first17) == gb11643_check(first17), first17
            assert validate_resident_id(first17 + gb11643_check(first17))


@pytest.mark.parametrize("rid, rule", [
    ("440301199001011235", "check character must be '4'"),
    ("44030119900101123", "18 characters"),
    ("44030119900101123x", "check character"),
    ("4403011990O1011234", "digits"),
    ("4403011990010112A4", "digits"),  # the 17th character
    ("4403011990010112\u06634", "digits"),  # an Arabic-Indic 3, which int() would read
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


GB32100_ALPHABET = "0123456789" + "".join(c for c in "ABCDEFGHIJKLMNOPQRSTUVWXYZ" if c not in "IOSVZ")


def gb32100_check(first17):
    """GB 32100's own definition, not the code's weight table: weight 3**(i-1) mod 31 for the
    character at position i from the left, check 31 - sum mod 31, 31 written 0."""
    total = sum(GB32100_ALPHABET.index(c) * pow(3, k, 31) for k, c in enumerate(first17))
    return GB32100_ALPHABET[(31 - total % 31) % 31]


def test_the_enterprise_id_check_character_weighs_every_position_as_gb_32100():
    """One non-zero character at a time, so every weight and every letter's value counts."""
    assert gb32100_check("91350100M000100Y4") == "3"  # the standard's example
    assert enterprise_id_check_char("0" * 17) == gb32100_check("0" * 17) == "0"  # 31 is written 0
    for k in range(17):
        for char in GB32100_ALPHABET[1:]:
            first17 = "0" * k + char + "0" * (16 - k)
            assert enterprise_id_check_char(first17) == gb32100_check(first17), first17
            assert validate_enterprise_id(first17 + gb32100_check(first17))


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


def test_month_index_and_back_agree_with_the_calendar_when_remembered_and_after_the_memory_starts_over():
    months = [f"{year:04d}-{month:02d}" for year in range(1900, 2101) for month in range(1, 13)]
    for _ in range(2):  # first computed, then remembered
        assert [month_index(m) for m in months] == list(range(1900 * 12, 2101 * 12))
        assert [month_from_index(i) for i in range(1900 * 12, 2101 * 12)] == months
    every = range(10_000 * 12)  # 0000-01 to 9999-12, more than are remembered: the memory starts over on the way
    assert [month_index(month_from_index(i)) for i in every] == list(every)
    assert month_from_index(every[-1]) == "9999-12" and month_index("0000-01") == 0
    assert len(ids._MONTH_INDEX) <= ids._VALID_LIMIT and len(ids._INDEX_MONTH) <= ids._VALID_LIMIT  # bounded
    assert month_index("2020-12") + 1 == month_index("2021-01")


@pytest.mark.parametrize("first17", ["4403011990010112", "440301199001011234", "4403011990010112A",
                                     "4403011990010112\u0663", "4403011990010112 "])
def test_the_check_character_is_only_computed_for_17_ascii_digits(first17):
    with pytest.raises(ValueError, match="17 ASCII digits"):
        resident_id_check_char(first17)


@pytest.mark.parametrize("value, ok", [("1234.50", "1234.50"), ("0", "0.00"), ("7.5", "7.50"), ("-1.00", None),
                                       ("1.005", None), ("1e20", None), ("abc", None), ("NaN", None),
                                       ("999999999999.99", "999999999999.99"), ("1000000000000.00", None)])
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


@pytest.mark.parametrize("value", ["Infinity", "-Infinity", "NaN", "sNaN"])
def test_money_that_is_not_finite_is_refused_by_name(value):
    """Refused as INVALID_FIELD naming the rule, not a decimal.InvalidOperation escaping from quantize."""
    with pytest.raises(ValidationError, match="finite") as err:
        to_money(value)
    assert err.value.reason_code == "INVALID_FIELD"


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
