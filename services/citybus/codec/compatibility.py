"""`check_schemas`: the contract's CI gate. Every file parses; every version of a type is
FULL_TRANSITIVE compatible (each reads, and is read by, every earlier version).

Compatibility is judged by the Apache `avro` package's checker, the port of Java's
`SchemaCompatibility`, on the expanded (self-contained) schemas, plus the one resolution rule
it leaves out: two decimals match only if their scales and precisions match (Avro
specification, Decimal). Fingerprints are ours
(fastavro's canonical form, which agrees with Java; the `avro` package's does not).
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import avro.errors
import avro.schema
from avro.compatibility import (
    ReaderWriterCompatibilityChecker, SchemaCompatibilityResult, SchemaCompatibilityType, SchemaIncompatibilityType,
    incompatible, merge,
)

from citybus.codec.loader import StoredSchema, load_schemas
from citybus.codec.store import default_schemas_dir

__all__ = ["CheckedSchema", "SchemaCheckReport", "check_schemas"]


@dataclass(frozen=True)
class CheckedSchema:
    full_name: str
    version: int
    kind: str  # record, enum or fixed
    fingerprint: str  # hex of the 8 wire bytes (little-endian CRC-64-AVRO)
    path: Path


@dataclass(frozen=True)
class SchemaCheckReport:
    root: Path
    schemas: tuple[CheckedSchema, ...]
    problems: tuple[str, ...]  # each names the file or type and the rule broken

    @property
    def ok(self) -> bool:
        return not self.problems


def check_schemas(schemas_dir: Path | str | None = None) -> SchemaCheckReport:
    root = Path(schemas_dir) if schemas_dir is not None else default_schemas_dir()
    loaded = load_schemas(root)
    problems = list(loaded.problems)
    by_name: dict[str, list[StoredSchema]] = {}
    for (full_name, _), stored in sorted(loaded.schemas.items()):
        by_name.setdefault(full_name, []).append(stored)
    for full_name, versions in by_name.items():
        problems.extend(_check_versions(full_name, versions))
    checked = tuple(
        CheckedSchema(s.full_name, s.version, s.kind, s.fingerprint_hex, s.path) for s in loaded.schemas.values()
    )
    return SchemaCheckReport(root, checked, tuple(problems))


def _check_versions(full_name: str, versions: list[StoredSchema]) -> list[str]:
    numbers = [s.version for s in versions]
    if numbers != list(range(1, len(numbers) + 1)):
        return [f"{full_name}: versions {numbers} must run 1..n; every version ever published stays"]
    problems: list[str] = []
    parsed: dict[int, avro.schema.Schema] = {}
    for stored in versions:
        try:
            parsed[stored.version] = avro.schema.parse(json.dumps(stored.schema))
        except avro.errors.AvroException as exc:
            problems.append(f"{stored.path.name}: the avro package refuses it: {exc}")
    for later in versions:
        for earlier in versions:
            if earlier.version >= later.version or {earlier.version, later.version} - set(parsed):
                continue
            problems.extend(_check_pair(full_name, parsed, later.version, earlier.version))
    return problems


def _check_pair(full_name: str, parsed: dict[int, avro.schema.Schema], later: int, earlier: int) -> list[str]:
    problems = []
    for reader, writer, direction in ((later, earlier, "backward"), (earlier, later, "forward")):
        result = _DecimalAwareChecker().get_compatibility(parsed[reader], parsed[writer])
        if result.compatibility is not SchemaCompatibilityType.compatible:
            kinds = ", ".join(sorted({i.name for i in result.incompatibilities}))
            detail = f"{kinds}: " + "; ".join(sorted(result.messages)) + f" (at {', '.join(sorted(result.locations))})"
            problems.append(
                f"{full_name} v{later} is not {direction} compatible with v{earlier} "
                f"(v{reader} cannot read what v{writer} wrote): {detail}"
            )
    return problems


class _DecimalAwareChecker(ReaderWriterCompatibilityChecker):
    """The `avro` checker takes any bytes for any bytes, so a money field moved from scale 2 to
    scale 3 passed: a reader that applies its own scale (Java's) takes 1234.500 for 12345.00, and
    fastavro hands v1 code a scale-3 amount (Java's checker has the same gap, AVRO-2078). Here
    two decimals must agree on scale and precision."""

    def calculate_compatibility(self, reader: avro.schema.Schema, writer: avro.schema.Schema,
                                location: list[str]) -> SchemaCompatibilityResult:
        result = super().calculate_compatibility(reader, writer, location)
        read, written = _decimal_of(reader), _decimal_of(writer)
        if read is None or written is None or read == written or reader.type != writer.type:
            return result
        message = f"reader decimal({read[0]},{read[1]}) does not match writer decimal({written[0]},{written[1]})"
        return merge(result, incompatible(SchemaIncompatibilityType.type_mismatch, message, location))


def _decimal_of(schema: avro.schema.Schema) -> tuple[int, int] | None:
    """(precision, scale) of a decimal schema, else None."""
    if isinstance(schema, (avro.schema.BytesDecimalSchema, avro.schema.FixedDecimalSchema)):
        return schema.precision, schema.scale
    return None
