"""A straight-line Avro binary writer, for the publishing hot paths.

`compile_writer(parsed)` returns a function record -> body bytes for a record schema whose
values are all `string`, `int`, `long`, `enum` (without a default), `bytes` with logicalType
`decimal`, `long` with logicalType `timestamp-millis`, a union of null and one of these, an
array or a map of these, or a record of these; None for any other schema. The function takes
only the plain cases: a dict of exactly the schema's fields (at every level), exact `str`, `int`
(not bool) in range, a known enum symbol, a non-negative finite `Decimal` that fastavro accepts,
an int timestamp, None or the other branch's value, a `list` for an array, a `dict` of `str`
keys for a map. Anything else (a datetime, a missing field,
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
    code = _Code()
    try:
        code.record(parsed, "record", 1)
    except _Unsupported:
        return None
    lines = ["def write(record):", "    out = bytearray()", *code.lines, "    return bytes(out)"]
    exec("\n".join(lines), code.env)  # noqa: S102 - code made above from the schema only
    return code.env["write"]


class _Unsupported(Exception):  # noqa: N818 - a schema this writer leaves to fastavro
    pass


class _Code:
    """Straight-line code for one schema: each value checked for the plain case (else Fallback)
    and appended to `out` as fastavro would write it."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self.env: dict[str, Any] = {"Fallback": Fallback, "_length": _length, "_long": _long,
                                    "str": str, "int": int, "dict": dict, "list": list}
        self.names: dict[str, Any] = {}  # named types seen, for a later use by name
        self._serial = 0

    def _fresh(self, prefix: str) -> str:
        self._serial += 1
        return f"{prefix}{self._serial}"

    def _put(self, depth: int, *lines: str) -> None:
        self.lines.extend("    " * depth + line for line in lines)

    def record(self, schema: dict[str, Any], var: str, depth: int) -> None:
        # encode is strict: a field of no schema is refused, by fastavro
        self.names[schema["name"]] = schema
        fields = schema["fields"]
        self._put(depth, f"if {var}.__class__ is not dict or len({var}) != {len(fields)}: raise Fallback")
        for field in fields:
            value = self._fresh("v")
            self._put(depth, f"{value} = {var}[{field['name']!r}]")
            self.value(field["type"], value, depth)

    def value(self, kind: Any, var: str, depth: int) -> None:
        if isinstance(kind, str) and kind in self.names:
            kind = self.names[kind]
        if kind == "string":
            encoded = self._fresh("b")
            self._put(depth, f"if {var}.__class__ is not str: raise Fallback",
                      f"{encoded} = {var}.encode()", f"out += _length(len({encoded}))", f"out += {encoded}")
        elif kind in ("int", "long") or (isinstance(kind, dict) and kind.get("type") == "long"
                                         and kind.get("logicalType") == "timestamp-millis"
                                         and set(kind) <= {"type", "logicalType"}):
            low, high = _INT if kind == "int" else _LONG
            self._put(depth, f"if {var}.__class__ is not int or not {low} <= {var} <= {high}: raise Fallback",
                      f"out += _long({var})")
        elif isinstance(kind, list):
            self._union(kind, var, depth)
        elif not isinstance(kind, dict):
            raise _Unsupported(kind)
        elif kind.get("type") == "enum" and "default" not in kind:
            self.names[kind["name"]] = kind
            symbols = self._fresh("symbols")
            self.env[symbols] = {symbol: _long(i) for i, symbol in enumerate(kind["symbols"])}
            self._put(depth, f"if {var}.__class__ is not str or {var} not in {symbols}: raise Fallback",
                      f"out += {symbols}[{var}]")
        elif (kind.get("type") == "bytes" and kind.get("logicalType") == "decimal"
              and isinstance(kind.get("precision"), int) and isinstance(kind.get("scale", 0), int)
              and set(kind) <= {"type", "logicalType", "precision", "scale"}):
            writer = self._fresh("decimal")
            self.env[writer] = _decimal_writer(kind["precision"], kind.get("scale", 0))
            self._put(depth, f"out += {writer}({var})")
        elif kind.get("type") == "record":
            self.record(kind, var, depth)
        elif kind.get("type") in ("array", "map") and set(kind) <= {"type", "items", "values"}:
            self._blocks(kind, var, depth)
        else:
            raise _Unsupported(kind)

    def _union(self, branches: list[Any], var: str, depth: int) -> None:
        """["null", T] or [T, "null"] with T neither null nor a union."""
        if len(branches) != 2 or "null" not in branches or all(b == "null" for b in branches):
            raise _Unsupported(branches)
        null = branches.index("null")
        other = branches[1 - null]
        if isinstance(other, list):
            raise _Unsupported(branches)
        self._put(depth, f"if {var} is None:", f"    out += {_long(null)!r}", "else:",
                  f"    out += {_long(1 - null)!r}")
        self.value(other, var, depth + 1)

    def _blocks(self, kind: dict[str, Any], var: str, depth: int) -> None:
        """One block of all the items (or entries), then the empty block: fastavro's layout."""
        is_map = kind["type"] == "map"
        item = self._fresh("i")
        self._put(depth, f"if {var}.__class__ is not {'dict' if is_map else 'list'}: raise Fallback",
                  f"if {var}:", f"    out += _long(len({var}))")
        if is_map:
            key = self._fresh("k")
            self._put(depth + 1, f"for {key}, {item} in {var}.items():")
            self.value("string", key, depth + 2)
            self.value(kind["values"], item, depth + 2)
        else:
            self._put(depth + 1, f"for {item} in {var}:")
            self.value(kind["items"], item, depth + 2)
        self._put(depth, "out += b'\\x00'")
