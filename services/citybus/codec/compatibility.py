"""`check_schemas`: the contract's CI gate. Every file parses; every version of a type is
FULL_TRANSITIVE compatible (each reads, and is read by, every earlier version).

Compatibility is judged by the Apache `avro` package's checker, the port of Java's
`SchemaCompatibility`, on the expanded (self-contained) schemas. Fingerprints are ours
(fastavro's canonical form, which agrees with Java; the `avro` package's does not).
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import avro.errors
import avro.schema
from avro.compatibility import ReaderWriterCompatibilityChecker, SchemaCompatibilityType

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
        result = ReaderWriterCompatibilityChecker().get_compatibility(parsed[reader], parsed[writer])
        if result.compatibility is not SchemaCompatibilityType.compatible:
            kinds = ", ".join(sorted({i.name for i in result.incompatibilities}))
            detail = f"{kinds}: " + "; ".join(sorted(result.messages)) + f" (at {', '.join(sorted(result.locations))})"
            problems.append(
                f"{full_name} v{later} is not {direction} compatible with v{earlier} "
                f"(v{reader} cannot read what v{writer} wrote): {detail}"
            )
    return problems
