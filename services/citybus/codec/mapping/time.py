"""Timestamps between Avro (aware datetimes) and the domain (epoch milliseconds)."""
from __future__ import annotations

import datetime as dt

__all__ = ["millis", "utc"]

_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc)


def millis(value: dt.datetime | int) -> int:
    if isinstance(value, int):
        return value
    return (value - _EPOCH) // dt.timedelta(milliseconds=1)


def utc(ms: int) -> dt.datetime:
    return _EPOCH + dt.timedelta(milliseconds=ms)
