"""A straight-line Avro binary writer for flat records, for the publishing hot path.

`compile_writer(parsed)` returns a function record -> body bytes for a record schema whose
fields are all `string`, `int`, `long`, `enum`, `bytes` with logicalType `decimal`, or `long`
with logicalType `timestamp-millis`; None for any other schema. The function takes only the
plain cases: a dict of exactly the schema's fields, exact `str`, `int` (not bool) in range, a known enum symbol, a non-negative finite
`Decimal` that fastavro accepts, an int timestamp. Anything else (a datetime, a missing field,
a subclass, a negative or out-of-scale amount, ...) raises `Fallback`, and the caller writes
the record with fastavro, which stays the reference: for the plain cases the bytes are
fastavro's, byte for byte (tests/unit/codec/test_codec_fast_writer.py), and every refusal,
with its message, is fastavro's.
"""
from __future__ import annotations

import decimal
from collections.abc import Callable
from typing import Any

__all__ = ["Fallback", "compile_writer"]


class Fallback(Exception):  # noqa: N818 - not an error: "let fastavro write this one"
    """The record is not a plain case: write it the reference way."""


_INT = (-(1 << 31), (1 << 31) - 1)
_LONG = (-(1 << 63), (1 << 63) - 1)
_SMALL = 1 << 13  # zig-zag varints of -_SMALL.._SMALL-1 and lengths 0.._SMALL-1 come from tables


def _varint_slow(unsigned: int) -> bytes:
    out = bytearray()
    while unsigned > 0x7F:
        out.append((unsigned & 0x7F) | 0x80)
        unsigned >>= 7
    out.append(unsigned)
    return bytes(out)


_LAST14 = tuple(_varint_slow(n) for n in range(1 << 14))  # the varint of a value below 2**14
_MID14 = tuple(bytes(((n & 0x7F) | 0x80, (n >> 7) | 0x80)) for n in range(1 << 14))  # 14 bits, more to come


def _varint(unsigned: int) -> bytes:
    """Unsigned LEB128, 14 bits per step from two tables (a millisecond timestamp: 3 steps, not 6)."""
    if unsigned < 1 << 14:
        return _LAST14[unsigned]
    out = b""
    while unsigned >= 1 << 14:
        out += _MID14[unsigned & 0x3FFF]
        unsigned >>= 14
    return out + _LAST14[unsigned]  # the loop leaves 1 <= unsigned < 2**14


def _zigzag(value: int) -> bytes:
    return _varint((value << 1) ^ (value >> 63))


_LENGTHS = tuple(_zigzag(n) for n in range(_SMALL))
_SMALL_INTS = tuple(_zigzag(n) for n in range(-_SMALL, _SMALL))


def _length(n: int) -> bytes:
    return _LENGTHS[n] if n < _SMALL else _zigzag(n)


def _long(value: int) -> bytes:
    return _SMALL_INTS[value + _SMALL] if -_SMALL <= value < _SMALL else _zigzag(value)


def _decimal_writer(precision: int, scale: int) -> Callable[[Any], bytes]:
    """fastavro's prepare_bytes_decimal for the non-negative case, length-prefixed; the
    encodings of the last few thousand values are kept, each with its exponent."""
    context = decimal.Context(prec=max(precision, 28) + scale + 1)
    # value -> (that value as first written, its bytes): a hit needs an equal value with the same
    # exponent (same_quantum), since fastavro refuses 1.000 at scale 2 but writes 1.00 and 1.0
    cache: dict[decimal.Decimal, tuple[decimal.Decimal, bytes]] = {}

    def write(value: Any) -> bytes:
        if value.__class__ is not decimal.Decimal or value.is_signed():
            raise Fallback
        found = cache.get(value)  # a signalling NaN cannot be hashed: TypeError, fastavro's turn
        if found is not None and found[0].same_quantum(value):
            return found[1]
        _, digits, exponent = value.as_tuple()
        if exponent.__class__ is not int or len(digits) > precision or exponent + scale < 0:
            raise Fallback  # NaN/Infinity, or a refusal that fastavro words
        unscaled = int(value.scaleb(scale, context))
        body = unscaled.to_bytes((unscaled.bit_length() + 8) // 8, "big")
        if len(cache) >= 4096:
            cache.clear()
        encoded = _length(len(body)) + body
        cache[value] = (value, encoded)
        return encoded

    return write


def compile_writer(parsed: dict[str, Any]) -> Callable[[dict[str, Any]], bytes] | None:
    """A writer of the body of `parsed` (a fastavro-parsed record schema), or None."""
    if not isinstance(parsed, dict) or parsed.get("type") != "record":
        return None
    lines = ["def write(record):",  # encode is strict: a field of no schema is refused, by fastavro
             f"    if record.__class__ is not dict or len(record) != {len(parsed['fields'])}: raise Fallback",
             "    out = bytearray()"]
    env: dict[str, Any] = {"Fallback": Fallback, "_length": _length, "_long": _long, "str": str, "int": int}
    for index, field in enumerate(parsed["fields"]):
        kind = field["type"]
        get = f"    v = record[{field['name']!r}]"
        if kind == "string":
            lines += [get, "    if v.__class__ is not str: raise Fallback",
                      "    b = v.encode()", "    out += _length(len(b))", "    out += b"]
        elif kind in ("int", "long") or (isinstance(kind, dict) and kind.get("type") == "long"
                                         and kind.get("logicalType") == "timestamp-millis"
                                         and set(kind) <= {"type", "logicalType"}):
            low, high = _INT if kind == "int" else _LONG
            lines += [get, f"    if v.__class__ is not int or not {low} <= v <= {high}: raise Fallback",
                      "    out += _long(v)"]
        elif isinstance(kind, dict) and kind.get("type") == "enum" and "default" not in kind:
            env[f"symbols{index}"] = {symbol: _long(i) for i, symbol in enumerate(kind["symbols"])}
            lines += [get, "    if v.__class__ is not str: raise Fallback",
                      f"    out += symbols{index}[v]"]
        elif (isinstance(kind, dict) and kind.get("type") == "bytes" and kind.get("logicalType") == "decimal"
              and isinstance(kind.get("precision"), int) and isinstance(kind.get("scale", 0), int)
              and set(kind) <= {"type", "logicalType", "precision", "scale"}):
            env[f"decimal{index}"] = _decimal_writer(kind["precision"], kind.get("scale", 0))
            lines += [get, f"    out += decimal{index}(v)"]
        else:
            return None
    lines.append("    return bytes(out)")
    exec("\n".join(lines), env)  # noqa: S102 - code made above from the schema's field list only
    return env["write"]
