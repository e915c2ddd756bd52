"""JSON <-> Avro values, guided by the schema: money as "1234.50", timestamps as RFC 3339, dates as ISO.

City systems hand events to `citybus publish` as JSON Lines; operators read records as JSON.
"""
from __future__ import annotations

import base64
import datetime as dt
from decimal import Decimal, InvalidOperation
from typing import Any

from citybus.errors import ValidationError

__all__ = ["from_json", "to_json"]

_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc)


def from_json(schema: Any, value: Any, path: str = "") -> Any:
    """A JSON value as the Avro value `schema` expects; ValidationError names the field and rule."""
    if isinstance(schema, list):
        if value is None and "null" in schema:
            return None
        branches = [s for s in schema if s != "null"]
        if len(branches) != 1:
            raise ValidationError(path or "value", "unions of several non-null types are not supported in JSON")
        return from_json(branches[0], value, path)
    if isinstance(schema, str):
        return _primitive(schema, value, path)
    kind = schema["type"]
    logical = schema.get("logicalType")
    if logical == "decimal":
        return _decimal(value, schema.get("scale", 0), path)
    if logical in ("timestamp-millis", "timestamp-micros"):
        return _timestamp(value, path)
    if logical == "date":
        return _date(value, path)
    if kind == "record":
        return _record(schema, value, path)
    if kind == "enum":
        if value not in schema["symbols"]:
            raise ValidationError(path, f"must be one of {', '.join(schema['symbols'])}", value)
        return value
    if kind == "array":
        if not isinstance(value, list):
            raise ValidationError(path, "must be a JSON array", value)
        return [from_json(schema["items"], v, f"{path}[{i}]") for i, v in enumerate(value)]
    if kind == "map":
        if not isinstance(value, dict):
            raise ValidationError(path, "must be a JSON object", value)
        return {k: from_json(schema["values"], v, f"{path}.{k}") for k, v in value.items()}
    return from_json(kind, value, path)


def _record(schema: dict, value: Any, path: str) -> dict:
    if not isinstance(value, dict):
        raise ValidationError(path or schema["name"], "must be a JSON object", value)
    known = {f["name"] for f in schema["fields"]}
    extra = sorted(set(value) - known)
    if extra:
        raise ValidationError(f"{path}.{extra[0]}".lstrip("."), f"is not a field of {schema['name']}")
    out = {}
    for field in schema["fields"]:
        name = field["name"]
        where = f"{path}.{name}".lstrip(".")
        if name in value:
            out[name] = from_json(field["type"], value[name], where)
        elif "default" not in field:
            raise ValidationError(where, "is required")
    return out


def _primitive(kind: str, value: Any, path: str) -> Any:
    if kind == "bytes":
        return value.encode() if isinstance(value, str) else value
    checks: dict[str, type | tuple[type, ...]] = {
        "string": str, "boolean": bool, "null": type(None), "float": (int, float), "double": (int, float)}
    if kind in ("int", "long"):
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValidationError(path, "must be an integer", value)
        return value
    if kind in checks and not isinstance(value, checks[kind]):
        raise ValidationError(path, f"must be a JSON {kind}", value)
    return value


def _decimal(value: Any, scale: int, path: str) -> Decimal:
    if isinstance(value, (bool, float)) or not isinstance(value, (str, int)):
        raise ValidationError(path, 'money is a string with two decimals, e.g. "1234.50"', value)
    try:
        amount = Decimal(value)
    except InvalidOperation as exc:
        raise ValidationError(path, "must be a decimal amount", value) from exc
    if not amount.is_finite():
        raise ValidationError(path, "must be a finite decimal amount", value)
    try:  # more digits than the context holds (28) cannot be quantized: far beyond any decimal field
        exact = amount.quantize(Decimal(1).scaleb(-scale))
    except InvalidOperation as exc:
        raise ValidationError(path, "is too large for an amount", value) from exc
    if amount != exact:
        raise ValidationError(path, f"at most {scale} decimal places", value)
    return exact


def _timestamp(value: Any, path: str) -> dt.datetime | int:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if not isinstance(value, str):
        raise ValidationError(path, "must be an RFC 3339 timestamp or epoch milliseconds", value)
    try:
        moment = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as exc:
        raise ValidationError(path, "must be an RFC 3339 timestamp", value) from exc
    if moment.tzinfo is None:
        raise ValidationError(path, "must carry a time zone (e.g. Z)", value)
    try:  # 9999-12-31T23:00-05:00 is past year 9999 in UTC
        return moment.astimezone(dt.timezone.utc)
    except OverflowError as exc:
        raise ValidationError(path, "out of the representable range", value) from exc


def _date(value: Any, path: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value)
    except (TypeError, ValueError) as exc:
        raise ValidationError(path, "must be a date YYYY-MM-DD", value) from exc


def to_json(value: Any) -> Any:
    """A decoded Avro value as plain JSON: the inverse of `from_json` for display and the HTTP APIs."""
    if isinstance(value, dict):
        return {k: to_json(v) for k, v in value.items()}
    if isinstance(value, list):
        return [to_json(v) for v in value]
    if isinstance(value, Decimal):
        return f"{value:.2f}"
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.timezone.utc).isoformat().replace("+00:00", "Z")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, bytes):
        try:
            return value.decode("utf-8")
        except UnicodeDecodeError:
            return "base64:" + base64.b64encode(value).decode()
    return value
