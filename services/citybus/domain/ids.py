"""Identifiers and field forms fixed by bus.md: resident ids, enterprise ids, cities, months, money."""
from __future__ import annotations

import re
from collections.abc import Collection
from typing import TypeVar
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from operator import mul

from citybus.errors import ValidationError

K = TypeVar("K")
V = TypeVar("V")

__all__ = [
    "utf8_size",
    "resident_id_check_char",
    "validate_resident_id",
    "enterprise_id_check_char",
    "validate_enterprise_id",
    "validate_city_code",
    "validate_month",
    "month_index",
    "month_from_index",
    "to_money",
    "money_str",
    "CENT",
]

CENT = Decimal("0.01")
_RESIDENT_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_RESIDENT_CHECK = "10X98765432"
_USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
# [0-9], not \d (any Unicode digit, which int() reads), and \Z, not $ (which allows a final "\n")
_MONTH = re.compile(r"[0-9]{4}-(0[1-9]|1[0-2])\Z")
_CITY = re.compile(r"[0-9]{6}\Z")
_MAX_MONEY = Decimal("999999999999.99")  # decimal(14,2)


_ASCII_ZERO_SUM = ord("0") * sum(_RESIDENT_WEIGHTS)  # what the digits' character codes add beyond their values


def resident_id_check_char(first17: str) -> str:
    """The check character of 17 ASCII digits (ValueError for anything else). A person's id is
    checked with every one of their events: summed over the character codes in C, 0.5 us against
    1.6 for a sum over int(digit), and no cache to thrash when the persons outnumber it."""
    if len(first17) != 17 or not (first17.isascii() and first17.isdigit()):
        raise ValueError(f"not 17 ASCII digits: {first17!r}")
    return _RESIDENT_CHECK[(sum(map(mul, first17.encode(), _RESIDENT_WEIGHTS)) - _ASCII_ZERO_SUM) % 11]


_VALID_RESIDENT_IDS: set[str] = set()  # ids that passed (a person's id comes with every one of their events)
_VALID_MONTHS: set[str] = set()
_SIX_DIGITS: set[str] = set()  # city codes whose form passed (UNKNOWN_CITY is still checked each time)
_VALID_LIMIT = 1 << 16  # values remembered before a set starts over


def _remember(valid: set[str], value: str) -> None:
    if len(valid) >= _VALID_LIMIT:
        valid.clear()
    valid.add(value)


def _remember_as(memory: dict[K, V], key: K, value: V) -> V:
    """`value`, kept under `key` in a memory that starts over past _VALID_LIMIT entries."""
    if len(memory) >= _VALID_LIMIT:
        memory.clear()
    memory[key] = value
    return value


def validate_resident_id(value: object, field: str = "resident_id") -> str:
    if type(value) is str and value in _VALID_RESIDENT_IDS:
        return value
    if not isinstance(value, str) or len(value) != 18:
        raise ValidationError(field, "GB 11643: must be 18 characters", value)
    if not value[:17].isdigit() or not value[:17].isascii():
        raise ValidationError(field, "GB 11643: first 17 characters must be digits", value)
    expected = resident_id_check_char(value[:17])
    if value[17] != expected:
        raise ValidationError(field, f"GB 11643: check character must be {expected!r}", value)
    if type(value) is str:  # not a subclass, whose equality could differ
        _remember(_VALID_RESIDENT_IDS, value)
    return value


def enterprise_id_check_char(first17: str) -> str:
    total = sum(_USCC_ALPHABET.index(c) * w for c, w in zip(first17, _USCC_WEIGHTS))
    check = 31 - total % 31
    return _USCC_ALPHABET[0 if check == 31 else check]


def validate_enterprise_id(value: object, field: str = "subject_id") -> str:
    if not isinstance(value, str) or len(value) != 18:
        raise ValidationError(field, "GB 32100: must be 18 characters", value)
    bad = [c for c in value if c not in _USCC_ALPHABET]
    if bad:
        raise ValidationError(field, f"GB 32100: character {bad[0]!r} is not in the code alphabet", value)
    expected = enterprise_id_check_char(value[:17])
    if value[17] != expected:
        raise ValidationError(field, f"GB 32100: check character must be {expected!r}", value)
    return value


def validate_city_code(value: object, known: Collection[str] | None = None, field: str = "city") -> str:
    """Six digits; when `known` is given, also one of the registry's cities (else UNKNOWN_CITY)."""
    if not (type(value) is str and value in _SIX_DIGITS):
        if not isinstance(value, str) or not _CITY.match(value):
            raise ValidationError(field, "must be a 6-digit administrative division code", value)
        if type(value) is str:
            _remember(_SIX_DIGITS, value)
    if known is not None and value not in known:
        raise ValidationError(field, "not a city in the participant registry", value, reason_code="UNKNOWN_CITY")
    return value


def validate_month(value: object, field: str = "month") -> str:
    if type(value) is str and value in _VALID_MONTHS:
        return value
    if not isinstance(value, str) or not _MONTH.match(value):
        raise ValidationError(field, "must be YYYY-MM", value)
    if type(value) is str:
        _remember(_VALID_MONTHS, value)
    return value


# month <-> index, remembered: each event and each summary converts a few, and they are few
_MONTH_INDEX: dict[str, int] = {}
_INDEX_MONTH: dict[int, str] = {}


def month_index(month: str) -> int:
    """Months since 0000-01, so that consecutive months are consecutive integers."""
    try:
        return _MONTH_INDEX[month]
    except KeyError:
        index = int(month[:4]) * 12 + int(month[5:7]) - 1
        # not a subclass, whose equality could differ
        return _remember_as(_MONTH_INDEX, month, index) if type(month) is str else index


def month_from_index(index: int) -> str:
    try:
        return _INDEX_MONTH[index]
    except KeyError:
        month = f"{index // 12:04d}-{index % 12 + 1:02d}"
        return _remember_as(_INDEX_MONTH, index, month) if type(index) is int else month


def to_money(value: object, field: str = "amount", minimum: Decimal | None = Decimal(0)) -> Decimal:
    """A CNY amount as a Decimal with exactly two places, inside decimal(14,2)."""
    try:
        amount = value if isinstance(value, Decimal) else Decimal(str(value))
    except (InvalidOperation, ValueError) as exc:
        raise ValidationError(field, "must be a decimal amount", value) from exc
    if not amount.is_finite():
        raise ValidationError(field, "must be a finite amount", value)
    if abs(amount) > _MAX_MONEY:  # first: quantize raises on more digits than the context's 28
        raise ValidationError(field, "exceeds decimal(14,2)", value)
    if amount != amount.quantize(CENT):
        raise ValidationError(field, "at most two decimal places", value)
    if minimum is not None and amount < minimum:
        raise ValidationError(field, f"must be >= {minimum}", value)
    return amount.quantize(CENT)


def money_str(amount: Decimal) -> str:
    return str(amount.quantize(CENT, rounding=ROUND_HALF_UP))


def utf8_size(text: str) -> int:
    """Bytes of `text` in UTF-8 (what a size limit on the wire counts); a lone surrogate counts 3."""
    return len(text) if text.isascii() else len(text.encode("utf-8", "surrogatepass"))
