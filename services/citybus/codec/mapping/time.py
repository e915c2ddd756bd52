"""Timestamps between Avro (aware datetimes) and the domain (epoch milliseconds)."""
from __future__ import annotations

import datetime as dt
from typing import TypeVar, overload

__all__ = ["millis", "utc"]

_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc)
_MS = dt.timedelta(milliseconds=1)
_T = TypeVar("_T")
_last: tuple[object, int] = (None, 0)  # (datetime, its millis) last converted; replaced whole


@overload
def millis(value: int) -> int: ...


@overload
def millis(value: _T) -> _T | int: ...


def millis(value: object) -> object:
    """An aware datetime as epoch milliseconds; anything else as it is, for the field rules to
    refuse by name (a naive datetime, a string) instead of a TypeError here. The decoder hands
    out one datetime object per timestamp it keeps, so the last one converted is remembered by
    identity (0.64 us -> 0.04 us per event when it repeats)."""
    global _last  # noqa: PLW0603 - one immutable tuple, read once and replaced whole
    known, known_ms = _last
    if value is known:
        return known_ms
    if isinstance(value, dt.datetime) and value.tzinfo is not None:
        result = (value - _EPOCH) // _MS
        _last = (value, result)
        return result
    return value


def utc(ms: int) -> dt.datetime:
    return _EPOCH + dt.timedelta(milliseconds=ms)
