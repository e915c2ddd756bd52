"""Where a forwarded record was first published.

A service that moves an input to one of its own topics, to reach the partition (or the worker)
that must decide it, sends the bytes untouched and keeps the original coordinates in two
headers; whatever it finally does with the record (apply it, dead-letter it) then names the
original: topic, partition, offset, log time and key.
"""
from __future__ import annotations

from dataclasses import replace

from aiokafka.structs import ConsumerRecord

__all__ = ["ORIGIN_HEADER", "ORIGIN_KEY_HEADER", "forward_headers", "origin_of"]

ORIGIN_HEADER = "citybus-origin"  # "topic/partition/offset/timestamp" (older forwards: no timestamp)
ORIGIN_KEY_HEADER = "citybus-origin-key"  # the original key (absent: the forwarded record's own)
_OURS = (ORIGIN_HEADER, ORIGIN_KEY_HEADER)


def forward_headers(record: ConsumerRecord) -> list[tuple[str, bytes]]:
    """`record`'s headers with its coordinates as the origin (any origin headers it came with replaced)."""
    origin = f"{record.topic}/{record.partition}/{record.offset}/{record.timestamp}".encode()
    return [*(h for h in (record.headers or ()) if h[0] not in _OURS),
            (ORIGIN_HEADER, origin), (ORIGIN_KEY_HEADER, record.key or b"")]


def origin_of(record: ConsumerRecord) -> ConsumerRecord | None:
    """A forwarded record as it was first published; None when its origin header is missing or malformed."""
    headers = tuple(record.headers or ())
    found = dict(headers)
    try:
        topic, partition, offset, *rest = found[ORIGIN_HEADER].decode().split("/")
        if len(rest) > 1 or not topic:
            raise ValueError(found[ORIGIN_HEADER])
        timestamp = int(rest[0]) if rest else record.timestamp
        key = found.get(ORIGIN_KEY_HEADER, record.key)
        return replace(record, topic=topic, partition=int(partition), offset=int(offset), timestamp=timestamp,
                       key=key or None, headers=tuple(h for h in headers if h[0] not in _OURS))
    except (KeyError, AttributeError, ValueError, UnicodeDecodeError):
        return None
