"""Read a schemas directory: one file per type version, folder = last part of the namespace.

`schemas/<folder>/<Name>.v<N>.avsc` holds version N of `citybus.<folder>.<Name>`. Every file is
expanded into a self-contained schema, fingerprinted and parsed for fastavro. Problems are
collected, not raised, so that `check_schemas` can report all of them at once.
"""
from __future__ import annotations

import copy
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import fastavro

from citybus.codec.errors import SchemaError
from citybus.codec.expand import Resolve, expand_schema, full_name_of
from citybus.codec.fingerprint import fingerprint64, parsing_canonical_form

__all__ = ["ROOT_NAMESPACE", "LoadedSchemas", "StoredSchema", "load_schemas"]

ROOT_NAMESPACE = "citybus"
_FILE_NAME = re.compile(r"^(?P<name>[A-Za-z_][A-Za-z0-9_]*)\.v(?P<version>[1-9][0-9]*)\.avsc$")


@dataclass(frozen=True)
class StoredSchema:
    """One version of one named type, expanded into a self-contained writer schema."""

    full_name: str
    version: int
    kind: str  # record, enum or fixed
    path: Path
    schema: dict[str, Any] = field(repr=False)  # expanded, plain JSON
    canonical_form: str = field(repr=False)
    fingerprint: bytes  # 8 bytes, little-endian, as on the wire
    parsed: dict[str, Any] = field(repr=False, compare=False)  # fastavro's parsed form

    @property
    def fingerprint_hex(self) -> str:
        return self.fingerprint.hex()

    @property
    def header(self) -> bytes:
        """Single-object encoding header: C3 01 and the fingerprint."""
        return b"\xc3\x01" + self.fingerprint


@dataclass
class LoadedSchemas:
    root: Path
    schemas: dict[tuple[str, int], StoredSchema] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)


def load_schemas(root: Path) -> LoadedSchemas:
    loaded = LoadedSchemas(root=root)
    if not root.is_dir():
        loaded.problems.append(f"{root}: schemas directory does not exist")
        return loaded
    raw: dict[tuple[str, int], tuple[Path, dict[str, Any]]] = {}
    for path in sorted(root.rglob("*.avsc")):
        try:
            key, schema = _read(root, path)
        except SchemaError as exc:
            loaded.problems.append(f"{path.relative_to(root)}: {exc}")
            continue
        if key in raw:
            loaded.problems.append(f"{path.relative_to(root)}: {key[0]} v{key[1]} also in {raw[key][0]}")
            continue
        raw[key] = (path, schema)

    def resolve(full_name: str, version: int) -> dict[str, Any]:
        if (full_name, version) not in raw:
            raise SchemaError(f"no file for {full_name} v{version}")
        return raw[(full_name, version)][1]

    for (full_name, version), (path, schema) in sorted(raw.items()):
        try:
            loaded.schemas[(full_name, version)] = _store(full_name, version, path, schema, resolve)
        except SchemaError as exc:
            loaded.problems.append(f"{path.relative_to(root)}: {exc}")
    return loaded


def _read(root: Path, path: Path) -> tuple[tuple[str, int], dict[str, Any]]:
    match = _FILE_NAME.match(path.name)
    if not match:
        raise SchemaError("file name must be <Name>.v<version>.avsc")
    folder = path.parent.relative_to(root).parts
    try:
        schema = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise SchemaError(f"not readable JSON: {exc}") from exc
    if not isinstance(schema, dict) or schema.get("type") not in ("record", "enum", "fixed"):
        raise SchemaError("a file holds exactly one record, enum or fixed")
    full_name = full_name_of(str(schema.get("name")), schema.get("namespace"))
    expected = ".".join((ROOT_NAMESPACE, *folder, match["name"]))
    if full_name != expected:
        raise SchemaError(f"defines {full_name}, but its folder and file name say {expected}")
    return (full_name, int(match["version"])), schema


def _store(full_name: str, version: int, path: Path, schema: dict[str, Any], resolve: Resolve) -> StoredSchema:
    expanded = expand_schema(schema, resolve)
    try:
        parsed = fastavro.parse_schema(copy.deepcopy(expanded))
        fingerprint = fingerprint64(expanded)
        canonical = parsing_canonical_form(expanded)
    except Exception as exc:  # fastavro raises several kinds for a bad schema
        raise SchemaError(f"not a valid Avro schema: {exc}") from exc
    assert isinstance(parsed, dict)  # a record, enum or fixed (checked by the caller) parses to a dict
    return StoredSchema(full_name, version, schema["type"], path, expanded, canonical, fingerprint, parsed)
