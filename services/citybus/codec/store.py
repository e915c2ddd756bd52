"""The schema store: every schema version in `schemas/`, by full name, version and fingerprint.

No registry service: the repo's `schemas/` directory is the registry. The directory is the
repo's own (found relative to this package) unless `CITYBUS_SCHEMAS_DIR` names another.
"""
from __future__ import annotations

import functools
import os
from collections.abc import Iterator, Mapping
from pathlib import Path

from citybus.codec.errors import SchemaError
from citybus.codec.loader import StoredSchema, load_schemas
from citybus.errors import UnknownSchemaError

__all__ = ["SCHEMAS_DIR_VARIABLE", "SchemaStore", "default_schemas_dir", "default_store"]

SCHEMAS_DIR_VARIABLE = "CITYBUS_SCHEMAS_DIR"


def default_schemas_dir() -> Path:
    configured = os.environ.get(SCHEMAS_DIR_VARIABLE)
    if configured:
        return Path(configured)
    return Path(__file__).resolve().parents[3] / "schemas"


class SchemaStore:
    """Loaded once, read many times; raises SchemaError naming every broken file."""

    def __init__(self, root: Path | str | None = None) -> None:
        self.root = Path(root) if root is not None else default_schemas_dir()
        loaded = load_schemas(self.root)
        if loaded.problems:
            raise SchemaError(f"schemas in {self.root} are broken:\n  " + "\n  ".join(loaded.problems))
        self._all = loaded.schemas
        versions: dict[str, list[StoredSchema]] = {}
        for (full_name, _), stored in sorted(self._all.items()):
            versions.setdefault(full_name, []).append(stored)
        self._versions = {name: tuple(found) for name, found in versions.items()}
        self._by_fingerprint: dict[bytes, StoredSchema] = {}
        for stored in self._all.values():
            if stored.kind == "record":
                # Two versions differing only in docs share a fingerprint; either decodes alike.
                self._by_fingerprint.setdefault(stored.fingerprint, stored)

    @property
    def record_names(self) -> tuple[str, ...]:
        """Full names of the records: what travels on the wire."""
        return tuple(name for name, found in self._versions.items() if found[0].kind == "record")

    @property
    def by_fingerprint(self) -> Mapping[bytes, StoredSchema]:
        """Writer schema of every record version, by its 8-byte wire fingerprint."""
        return self._by_fingerprint

    def __iter__(self) -> Iterator[StoredSchema]:
        """Every version of every type, records and enums alike."""
        return iter(self._all.values())

    def versions(self, full_name: str) -> tuple[StoredSchema, ...]:
        """Every version of the type, oldest first."""
        try:
            return self._versions[full_name]
        except KeyError:
            raise UnknownSchemaError(f"no schema named {full_name} in {self.root}") from None

    def latest(self, full_name: str) -> StoredSchema:
        return self.versions(full_name)[-1]

    def get(self, full_name: str, version: int | None = None) -> StoredSchema:
        """The given version of the type, or its latest."""
        if version is None:
            return self.latest(full_name)
        stored = self._all.get((full_name, version))
        if stored is None:
            known = ", ".join(f"v{s.version}" for s in self.versions(full_name))
            raise UnknownSchemaError(f"no version {version} of {full_name} (known: {known})")
        return stored

    def find(self, fingerprint: bytes) -> StoredSchema | None:
        return self._by_fingerprint.get(fingerprint)


@functools.cache
def _store_for(root: Path) -> SchemaStore:
    return SchemaStore(root)


_last: tuple[str | None, SchemaStore] | None = None


def default_store() -> SchemaStore:
    """The store of `default_schemas_dir()`, loaded once per directory.

    Cheap enough for every call: the directory is looked at again only when
    `CITYBUS_SCHEMAS_DIR` changed since the last call.
    """
    global _last
    configured = os.environ.get(SCHEMAS_DIR_VARIABLE)
    if _last is None or _last[0] != configured:
        _last = (configured, _store_for(default_schemas_dir().resolve()))
    return _last[1]
