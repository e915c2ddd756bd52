"""Timestamps between Avro (aware datetimes) and the domain (epoch milliseconds)."""
from __future__ import annotations

import datetime as dt

__all__ = ["millis", "utc"]

_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc)


def millis(value: dt.datetime | int) -> int:
    """An aware datetime as epoch milliseconds; anything else as it is, for the field rules to
    refuse by name (a naive datetime, a string) instead of a TypeError here."""
    if isinstance(value, dt.datetime) and value.tzinfo is not None:
        return (value - _EPOCH) // dt.timedelta(milliseconds=1)
    return value  # type: ignore[return-value]


def utc(ms: int) -> dt.datetime:
    return _EPOCH + dt.timedelta(milliseconds=ms)
