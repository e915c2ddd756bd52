"""Where a forwarded record was first published.

A service that moves an input to one of its own topics, to reach the partition (or the worker)
that must decide it, sends the bytes untouched and keeps the original coordinates in two
headers; whatever it finally does with the record (apply it, dead-letter it) then names the
original: topic, partition, offset, log time and key. A third header, the hop, names the step
of the service that sent the record on (e.g. "claimed"): only `forward_headers` sets it, and
every forward drops the one the record came with, so a hop header a sender set itself never
passes for one (read it only on the service's own topics).
"""
from __future__ import annotations

from dataclasses import replace

from aiokafka.structs import ConsumerRecord

__all__ = ["ORIGIN_HEADER", "ORIGIN_KEY_HEADER", "HOP_HEADER", "forward_headers", "origin_of", "hop_of"]

ORIGIN_HEADER = "citybus-origin"  # "topic/partition/offset/timestamp" (older forwards: no timestamp)
ORIGIN_KEY_HEADER = "citybus-origin-key"  # the original key (absent: the forwarded record's own)
HOP_HEADER = "citybus-hop"  # the step that forwarded the record (absent: a plain repartition)
_OURS = (ORIGIN_HEADER, ORIGIN_KEY_HEADER, HOP_HEADER)
_OFFSETS = range(2**63)  # a Kafka offset, and what a dead letter's offset (an Avro long) can name


def forward_headers(record: ConsumerRecord, hop: bytes | None = None) -> list[tuple[str, bytes]]:
    """`record`'s headers with its coordinates as the origin (any origin and hop headers it came
    with replaced), and `hop` when given."""
    origin = f"{record.topic}/{record.partition}/{record.offset}/{record.timestamp}".encode()
    return [*(h for h in (record.headers or ()) if h[0] not in _OURS),
            (ORIGIN_HEADER, origin), (ORIGIN_KEY_HEADER, record.key or b""), *(((HOP_HEADER, hop),) if hop else ())]


def hop_of(record: ConsumerRecord) -> bytes | None:
    """The hop header of a record read from one of the service's own topics."""
    for name, value in record.headers or ():
        if name == HOP_HEADER:
            return value
    return None


def origin_of(record: ConsumerRecord, partitions: int) -> ConsumerRecord | None:
    """A forwarded record as it was first published; None when its origin header is missing or malformed,
    or names coordinates no record of the service's `partitions`-partition topics has (its dead letter
    could not be written, a send to its partition fails: the service would stop at every replay)."""
    headers = tuple(record.headers or ())
    found = dict(headers)
    try:
        topic, partition, offset, *rest = found[ORIGIN_HEADER].decode().split("/")
        if len(rest) > 1 or not topic:
            raise ValueError(found[ORIGIN_HEADER])
        timestamp = int(rest[0]) if rest else record.timestamp
        if int(partition) not in range(partitions) or int(offset) not in _OFFSETS:
            raise ValueError(found[ORIGIN_HEADER])  # no record was ever there: its dead letter could not say so
        key = found.get(ORIGIN_KEY_HEADER, record.key)
        return replace(record, topic=topic, partition=int(partition), offset=int(offset), timestamp=timestamp,
                       key=key or None, headers=tuple(h for h in headers if h[0] not in _OURS))
    except (KeyError, AttributeError, ValueError, UnicodeDecodeError):
        return None
