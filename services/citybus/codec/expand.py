"""Turn a schema that names types kept in other files into one self-contained schema.

Avro lets a schema use a named type by its full name once the type is defined earlier in the
same parse. Our files keep shared enums in files of their own, so before a schema can be a
writer schema (fingerprinted, written to the wire, read by another city) every name it uses
is replaced, at its first use in document order, by the definition it names. Later uses stay
names, exactly as the Avro specification requires.
"""
from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

from citybus.codec.errors import SchemaError

__all__ = ["PRIMITIVES", "REFERENCES_ATTRIBUTE", "Resolve", "expand_schema", "full_name_of"]

PRIMITIVES = frozenset({"null", "boolean", "int", "long", "float", "double", "bytes", "string"})
REFERENCES_ATTRIBUTE = "references"
_NAMED = frozenset({"record", "error", "enum", "fixed"})

Resolve = Callable[[str, int], dict[str, Any]]


def full_name_of(name: str, namespace: str | None) -> str:
    if "." in name or not namespace:
        return name
    return f"{namespace}.{name}"


def expand_schema(schema: dict[str, Any], resolve: Resolve) -> dict[str, Any]:
    """A deep copy of `schema` with every type from another file inlined at its first use.

    A file pins the version of each type it takes from another file in its top-level
    `references` attribute (`{"citybus.migration.Scope": 1}`), so that publishing a new
    version of a shared enum never changes an already published writer schema.
    `resolve(full_name, version)` returns that file's (unexpanded) schema or raises
    SchemaError. The pins are dropped from the result: they are bookkeeping, not Avro.
    """
    schema = copy.deepcopy(schema)
    expander = _Expander(resolve)
    expander.pins.append(_pins_of(schema))
    return expander.walk(schema, None)


def _pins_of(schema: dict[str, Any]) -> dict[str, int]:
    pins = schema.pop(REFERENCES_ATTRIBUTE, {}) if isinstance(schema, dict) else {}
    if not isinstance(pins, dict) or not all(
        isinstance(k, str) and isinstance(v, int) and not isinstance(v, bool) and v >= 1 for k, v in pins.items()
    ):
        raise SchemaError(f"'{REFERENCES_ATTRIBUTE}' must map full names to versions (int >= 1), got {pins!r}")
    return pins


class _Expander:
    def __init__(self, resolve: Resolve) -> None:
        self._resolve = resolve
        self._defined: set[str] = set()
        self._expanding: list[str] = []
        self.pins: list[dict[str, int]] = []

    def walk(self, schema: Any, namespace: str | None) -> Any:
        if isinstance(schema, str):
            return self._name(schema, namespace)
        if isinstance(schema, list):
            return [self.walk(branch, namespace) for branch in schema]
        if not isinstance(schema, dict):
            raise SchemaError(f"not a schema: {schema!r}")
        kind = schema.get("type")
        if kind in _NAMED:
            return self._named(schema, namespace)
        if kind == "array":
            schema["items"] = self.walk(schema.get("items"), namespace)
        elif kind == "map":
            schema["values"] = self.walk(schema.get("values"), namespace)
        elif kind not in PRIMITIVES:
            # {"type": "some.Name"} or {"type": {...}}: a wrapped type
            schema["type"] = self.walk(kind, namespace)
        return schema

    def _named(self, schema: dict[str, Any], namespace: str | None) -> dict[str, Any]:
        name = schema.get("name")
        if not isinstance(name, str) or not name:
            raise SchemaError(f"a {schema.get('type')} without a name: {schema!r}")
        full_name = full_name_of(name, schema.get("namespace", namespace))
        if full_name in self._defined:
            raise SchemaError(f"{full_name} is defined twice")
        self._defined.add(full_name)
        inner = full_name.rpartition(".")[0] or None
        if schema["type"] in ("record", "error"):
            for field in schema.get("fields", []):
                field["type"] = self.walk(field.get("type"), inner)
        return schema

    def _name(self, name: str, namespace: str | None) -> str | dict[str, Any]:
        if name in PRIMITIVES:
            return name
        full_name = full_name_of(name, namespace)
        if full_name in self._defined:
            return full_name
        if full_name in self._expanding:
            raise SchemaError(f"{full_name} refers to itself through other files: {' -> '.join(self._expanding)}")
        version = self.pins[-1].get(full_name)
        if version is None:
            raise SchemaError(
                f"uses {full_name} but does not pin its version: add "
                f'"{REFERENCES_ATTRIBUTE}": {{"{full_name}": <version>}} at the top of the file'
            )
        self._expanding.append(full_name)
        definition = copy.deepcopy(self._resolve(full_name, version))
        self.pins.append(_pins_of(definition))
        try:
            if not isinstance(definition, dict) or definition.get("type") not in _NAMED:
                raise SchemaError(f"{full_name} v{version} is not a named type (record, enum or fixed)")
            return self._named(definition, None)
        finally:
            self.pins.pop()
            self._expanding.pop()
