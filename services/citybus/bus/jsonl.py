"""JSON Lines of a city's events -> prepared events, one line at a time (bounded memory)."""
from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from citybus.bus.publisher import CITY_RECORDS, CityPublisher, PreparedEvent
from citybus.codec import default_store, from_json
from citybus.errors import CitybusError, ValidationError

__all__ = ["BadLine", "read_events"]


@dataclass(frozen=True)
class BadLine:
    line: int
    field: str
    rule: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.field}: {self.rule}"


def read_events(lines: Iterable[str | bytes], publisher: CityPublisher, default_type: str | None = None
                ) -> Iterator[PreparedEvent | BadLine]:
    """Each line is one JSON object; its record type is its `type` member, else `default_type`.
    A record its topic's key is not a field of (MigrationReply: subject_id) names it as a member.
    Lines may be bytes (a file opened in binary): one that is not UTF-8 is a bad line, not the end."""
    store = default_store()
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            text = line.decode("utf-8") if isinstance(line, bytes) else line
        except UnicodeDecodeError as exc:
            yield BadLine(number, "line", f"not UTF-8: byte {line[exc.start]:#04x} at column {exc.start + 1}")
            continue
        try:
            obj = json.loads(text)
            if not isinstance(obj, dict):
                raise ValidationError("line", "must be a JSON object")
            name = obj.pop("type", None) or default_type
            if not name:
                raise ValidationError("type", "missing: give each line a `type` or pass --type")
            if not isinstance(name, str):
                raise ValidationError("type", "must be a record type name, e.g. ContributionRecorded", name)
            full_name = CITY_RECORDS.get(name, name)
            # a reply's topic is keyed by subject_id, which it has no field for: the line names it
            outside = publisher.key_outside(full_name)
            key = obj.pop(outside, None) if outside else None
            record = from_json(store.latest(full_name).schema, obj)
            yield publisher.prepare(full_name, record, key)
        except json.JSONDecodeError as exc:
            yield BadLine(number, "line", f"not JSON: {exc.msg} at column {exc.colno}")
        except ValidationError as exc:
            yield BadLine(number, exc.field, exc.detail)
        except CitybusError as exc:
            yield BadLine(number, "record", str(exc))
