"""Avro single-object encoding: C3 01, the writer schema's 8-byte fingerprint, the binary body.

What `decode` returns, per Avro type (fastavro's conversions, kept as they are):
string -> str, bytes -> bytes, int/long -> int, boolean -> bool, enum -> str (the symbol),
null -> None, map -> dict, array -> list, record -> dict,
decimal -> decimal.Decimal (scale 2 for money), timestamp-millis -> datetime.datetime,
timezone-aware, UTC; date -> datetime.date.

`encode` takes the same values. A timestamp may also be given as int milliseconds since the
epoch; a naive datetime is refused, because fastavro would silently read it as local time.
"""
from __future__ import annotations

import datetime
import functools
from collections.abc import Callable
from io import BytesIO
from typing import Any, cast

from fastavro import schemaless_reader, schemaless_writer

from citybus.codec.fast_reader import compile_reader
from citybus.codec.fast_writer import compile_writer
from citybus.codec.loader import StoredSchema
from citybus.codec.store import SchemaStore, default_store
from citybus.errors import UndecodableError, UnknownSchemaError, ValidationError, WrongTypeError

__all__ = ["MAGIC", "SingleObjectCodec", "decode", "default_codec", "encode"]

MAGIC = b"\xc3\x01"
_UNSET = object()
_HEADER_SIZE = 10


class SingleObjectCodec:
    """Encodes and decodes records of one schema store."""

    def __init__(self, store: SchemaStore | None = None) -> None:
        self.store = store if store is not None else default_store()
        self._timestamp_fields: dict[tuple[str, int], tuple[str, ...]] = {}
        self._readers: dict[tuple[str, int], Any] = {}  # (name, version) -> compiled reader; None: fastavro only
        # header -> (name, compiled reader) of a latest version: what `decode` read once by the long way,
        # found by one lookup after (the store does not change after it is loaded)
        self._latest: dict[bytes, tuple[str, Any]] = {}

    def encode(self, full_name: str, record: dict[str, Any], version: int | None = None) -> bytes:
        """`record` as the given (default: latest) version of `full_name`."""
        writer = self.store.get(full_name, version)
        for name in self._timestamps(writer) if isinstance(record, dict) else ():  # a non-dict: _invalid says so
            value = record.get(name)
            if isinstance(value, datetime.datetime) and value.tzinfo is None:
                raise ValidationError(f"{full_name}.{name}", "timestamps must be timezone-aware (UTC)", value)
        out = BytesIO()
        out.write(writer.header)
        try:
            schemaless_writer(out, writer.parsed, record, strict_allow_default=True)
        except Exception as exc:  # fastavro raises many kinds; find the field for the operator
            raise _invalid(writer, record, exc) from exc
        return out.getvalue()

    def encoder(self, full_name: str, version: int | None = None) -> Callable[[dict[str, Any]], bytes]:
        """`encode` of one record type as a function of the record, the schema looked up once.

        For the schemas `fast_writer` compiles, its straight-line code writes the plain cases (the
        same bytes); the rest goes to `encode` itself."""
        writer = self.store.get(full_name, version)
        reference = functools.partial(self.encode, full_name, version=writer.version)
        fast = compile_writer(writer.parsed)
        if fast is None:
            return reference
        header = writer.header

        def encode(record: dict[str, Any]) -> bytes:
            try:
                return header + fast(record)
            except Exception:  # noqa: BLE001 - Fallback, or anything odd: fastavro writes or refuses it
                return reference(record)

        return encode

    def decoder_into(self, full_name: str, build: Callable[..., Any], fields: tuple[str, ...],
                     millis: bool = False) -> Callable[[bytes], Any]:
        """A reader of the latest version of `full_name` straight into `build(*values)` (a domain
        record, without the dict `decode` makes), for the plain cases of the fast reader, when that
        version's fields are `fields` in that order. Anything else (another version or type, an odd
        or bad body, a schema whose fields moved) gives None: the caller then uses `decode`, which
        reads it or says why not. `millis`: timestamps as int milliseconds."""
        latest = self.store.latest(full_name)
        names = tuple(f["name"] for f in latest.parsed.get("fields", ()))
        fast = compile_reader(latest.parsed, build, millis) if names == fields else None
        header = latest.header

        def read(data: bytes) -> Any:
            if fast is None or type(data) is not bytes or not data.startswith(header):
                return None
            try:
                return fast(data, _HEADER_SIZE, len(data))
            except Exception:  # noqa: BLE001 - Fallback, or a bad body: `decode` reads it or says why
                return None

        return read

    def decode(
        self, data: bytes, expected_full_name: str | None = None, reader_version: int | None = None
    ) -> tuple[str, dict[str, Any]]:
        """(full name, record) read with the given (default: latest) version of the record."""
        if reader_version is None and type(data) is bytes:
            known = self._latest.get(data[:_HEADER_SIZE])
            if known is not None and (expected_full_name is None or expected_full_name == known[0]):
                try:
                    return known[0], known[1](data, _HEADER_SIZE, len(data))
                except Exception:  # noqa: BLE001, S110 - Fallback, or a bad body: the long way says
                    pass
        if not isinstance(data, bytes):
            data = bytes(data)
        if len(data) < _HEADER_SIZE or data[:2] != MAGIC:
            raise UndecodableError(_why_not_single_object(data))
        writer = self.store.find(data[2:_HEADER_SIZE])
        if writer is None:
            raise UnknownSchemaError(
                f"unknown writer schema: fingerprint {data[2:_HEADER_SIZE].hex()} is none of the "
                f"{len(self.store.by_fingerprint)} record versions in {self.store.root}"
            )
        name = writer.full_name
        if expected_full_name is not None and name != expected_full_name:
            raise WrongTypeError(f"expected a {expected_full_name}, got a {name} (v{writer.version})")
        reader = self.store.get(name, reader_version)
        if reader is writer:  # the plain cases of flat records: fast_reader, the same values
            fast = self._readers.get((name, writer.version), _UNSET)
            if fast is _UNSET:
                fast = self._readers[(name, writer.version)] = compile_reader(writer.parsed)
            if fast is not None:
                if reader_version is None:
                    self._latest[data[:_HEADER_SIZE]] = (name, fast)
                try:
                    return name, fast(data, _HEADER_SIZE, len(data))
                except Exception:  # noqa: BLE001, S110 - Fallback, or a bad body: fastavro reads it or says why
                    pass
        body = BytesIO(data)
        body.seek(_HEADER_SIZE)
        try:
            record = schemaless_reader(body, writer.parsed, None if reader is writer else reader.parsed)
        except Exception as exc:  # truncated or corrupt: fastavro raises EOFError, ValueError, ...
            raise UndecodableError(
                f"corrupt or truncated {name} v{writer.version} body ({len(data) - _HEADER_SIZE} bytes): "
                f"{type(exc).__name__}: {exc}"
            ) from exc
        if body.tell() != len(data):
            raise UndecodableError(
                f"corrupt {name} v{writer.version} body: {len(data) - body.tell()} bytes left after the record"
            )
        return name, cast(dict[str, Any], record)  # a record: the store finds only records' fingerprints

    def _timestamps(self, writer: StoredSchema) -> tuple[str, ...]:
        key = (writer.full_name, writer.version)
        found = self._timestamp_fields.get(key)
        if found is None:
            found = self._timestamp_fields[key] = _top_level_timestamps(writer.schema)
        return found


def _top_level_timestamps(schema: dict[str, Any]) -> tuple[str, ...]:
    def is_timestamp(t: Any) -> bool:
        if isinstance(t, list):
            return any(is_timestamp(branch) for branch in t)
        return isinstance(t, dict) and t.get("logicalType") == "timestamp-millis"

    return tuple(f["name"] for f in schema.get("fields", []) if is_timestamp(f["type"]))


def _why_not_single_object(data: bytes) -> str:
    if len(data) >= 2 and data[:2] != MAGIC:
        return f"not Avro single-object encoded: starts with {data[:2].hex(' ')}, expected c3 01"
    return f"too short for Avro single-object encoding: {len(data)} bytes, the header alone is {_HEADER_SIZE}"


def _invalid(writer: StoredSchema, record: Any, exc: Exception) -> ValidationError:
    """Name the field that broke the write; only runs once a write has failed."""
    name = writer.full_name
    if not isinstance(record, dict):
        return ValidationError(name, "a record is a dict of its fields", type(record).__name__)
    fields = writer.parsed["fields"]
    missing = [f["name"] for f in fields if f["name"] not in record and "default" not in f]
    if missing:
        return ValidationError(f"{name}.{missing[0]}", f"required by v{writer.version}, missing (all missing: {missing})")
    extra = sorted(set(record) - {f["name"] for f in fields})
    if extra:
        return ValidationError(f"{name}.{extra[0]}", f"not a field of v{writer.version} (unknown: {extra})")
    for field in fields:
        if field["name"] not in record:
            continue
        probe = {"type": "record", "name": "citybus.codec.Probe", "fields": [field],
                 "__fastavro_parsed": True, "__named_schemas": writer.parsed["__named_schemas"]}
        try:
            schemaless_writer(BytesIO(), probe, {field["name"]: record[field["name"]]})
        except Exception as bad:  # noqa: BLE001 - reported, not handled
            return ValidationError(f"{name}.{field['name']}", f"{type(bad).__name__}: {bad}", record[field["name"]])
    return ValidationError(name, f"does not fit v{writer.version}: {type(exc).__name__}: {exc}")


@functools.cache
def _codec_of(store: SchemaStore) -> SingleObjectCodec:
    return SingleObjectCodec(store)


def default_codec() -> SingleObjectCodec:
    """The codec of `default_store()`: one per schema directory."""
    return _codec_of(default_store())


_default = default_codec


def encode(full_name: str, record: dict[str, Any], version: int | None = None) -> bytes:
    """`SingleObjectCodec.encode` on the default store."""
    return _default().encode(full_name, record, version)


def decode(
    data: bytes, expected_full_name: str | None = None, reader_version: int | None = None
) -> tuple[str, dict[str, Any]]:
    """`SingleObjectCodec.decode` on the default store."""
    return _default().decode(data, expected_full_name, reader_version)
