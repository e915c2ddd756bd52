"""A straight-line Avro binary reader for flat records, for the consuming hot path.

`compile_reader(parsed)` returns a function (data, start, end) -> record dict for a record
schema whose fields are all `string`, `int`, `long`, `enum`, `bytes` with logicalType
`decimal`, or `long` with logicalType `timestamp-millis`; None for any other schema (with
`build`, a function of the field values instead: a domain record made without the dict). It reads
only the plain cases: every length and enum index in range, valid UTF-8, short varints, the
body ending exactly at `end`. Anything else raises `Fallback` (or the exception a plain read
ran into), and the caller reads the body with fastavro, which stays the reference: for the
plain cases the dict equals fastavro's, value for value and type for type
(tests/unit/codec/test_codec_fast_reader.py, also on random bytes), and every refusal, with
its message, is fastavro's.

Decimals and timestamps repeat (a handful of contribution bases, one recording time per
batch), so the last few thousand of each are kept: decoded once, shared after (both types are
immutable).
"""
from __future__ import annotations

import datetime
import decimal
from collections.abc import Callable
from typing import Any

from citybus.codec.fast_writer import Fallback

__all__ = ["Fallback", "compile_reader"]

_EPOCH = datetime.datetime(1970, 1, 1, tzinfo=datetime.timezone.utc)
_KEEP = 4096
# the milliseconds a datetime can hold (years 1-9999): beyond them fastavro fails, and so must a reader
# that hands out the plain number
_FIRST_MS = (datetime.datetime(1, 1, 1, tzinfo=datetime.timezone.utc) - _EPOCH) // datetime.timedelta(milliseconds=1)
_LAST_MS = (datetime.datetime(9999, 12, 31, 23, 59, 59, 999999, tzinfo=datetime.timezone.utc)
            - _EPOCH) // datetime.timedelta(milliseconds=1)


def _varint(data: bytes, pos: int) -> tuple[int, int]:
    """A zig-zag varint of up to 10 bytes at `pos`: (value, next position)."""
    shift = result = 0
    while True:
        byte = data[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if byte < 0x80:
            return (result >> 1) ^ -(result & 1), pos
        shift += 7
        if shift > 63:
            raise Fallback


def _remembered(convert: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """`convert`, with the last few thousand answers kept (its values are immutable)."""
    kept: dict[Any, Any] = {}

    def read(raw: Any) -> Any:
        found = kept.get(raw)
        if found is None:
            if len(kept) >= _KEEP:
                kept.clear()
            found = kept[raw] = convert(raw)
        return found

    return read


def _decimal_reader(precision: int, scale: int) -> Callable[[bytes], decimal.Decimal]:
    """fastavro's read_decimal (a context of the schema's precision: create, then scaleb)."""
    context = decimal.Context(prec=precision)
    return _remembered(lambda raw: context.create_decimal(int.from_bytes(raw, "big", signed=True)).scaleb(
        -scale, context))


def _timestamp_reader() -> Callable[[int], datetime.datetime]:
    """fastavro's read_timestamp_millis: the epoch (UTC, aware) plus the milliseconds."""
    return _remembered(lambda millis: _EPOCH + datetime.timedelta(microseconds=millis * 1000))


def _number(target: str) -> list[str]:
    """Lines reading one zig-zag varint into `target`; one byte (|value| < 64) inline."""
    return ["    b = data[pos]",
            f"    if b < 0x80: {target} = (b >> 1) ^ -(b & 1); pos += 1",
            f"    else: {target}, pos = _varint(data, pos)"]


_LENGTH_CHECK = "    if n < 0 or pos + n > end: raise Fallback"


def compile_reader(parsed: dict[str, Any], build: Callable[..., Any] | None = None,
                   millis: bool = False) -> Callable[[bytes, int, int], Any] | None:
    """A reader of the body of `parsed` (a fastavro-parsed record schema), or None.

    The reader returns the record dict; with `build`, `build(*values)` of the field values in the
    schema's order instead (no dict). `millis`: timestamps as int milliseconds, not datetimes."""
    if not isinstance(parsed, dict) or parsed.get("type") != "record":
        return None
    lines = ["def read(data, pos, end):", "    out = {}"] if build is None else ["def read(data, pos, end):"]
    env: dict[str, Any] = {"Fallback": Fallback, "_varint": _varint, "build": build, "_FIRST_MS": _FIRST_MS,
                           "_LAST_MS": _LAST_MS}
    targets = []
    for index, field in enumerate(parsed["fields"]):
        kind, name = field["type"], field["name"]
        target = f"out[{name!r}]" if build is None else f"v{index}"
        targets.append(target)
        if kind == "string":
            lines += [*_number("n"), _LENGTH_CHECK,
                      f"    {target} = data[pos:pos + n].decode()", "    pos += n"]
        elif kind in ("int", "long"):
            lines += [*_number(target)]
        elif isinstance(kind, dict) and kind.get("type") == "long" and kind.get("logicalType") == "timestamp-millis" \
                and set(kind) <= {"type", "logicalType"}:
            if millis:
                lines += [*_number(target), f"    if not _FIRST_MS <= {target} <= _LAST_MS: raise Fallback"]
            else:
                env[f"timestamp{index}"] = _timestamp_reader()
                lines += [*_number("n"), f"    {target} = timestamp{index}(n)"]
        elif isinstance(kind, dict) and kind.get("type") == "enum":
            env[f"symbols{index}"] = tuple(kind["symbols"])
            lines += [*_number("n"), "    if n < 0: raise Fallback", f"    {target} = symbols{index}[n]"]
        elif (isinstance(kind, dict) and kind.get("type") == "bytes" and kind.get("logicalType") == "decimal"
              and isinstance(kind.get("precision"), int) and isinstance(kind.get("scale", 0), int)
              and set(kind) <= {"type", "logicalType", "precision", "scale"}):
            env[f"decimal{index}"] = _decimal_reader(kind["precision"], kind.get("scale", 0))
            lines += [*_number("n"), _LENGTH_CHECK,
                      f"    {target} = decimal{index}(data[pos:pos + n])", "    pos += n"]
        else:
            return None
    lines += ["    if pos != end: raise Fallback",
              "    return out" if build is None else f"    return build({', '.join(targets)})"]
    exec("\n".join(lines), env)  # noqa: S102 - code made above from the schema's field list only
    return env["read"]
