"""The ledger's state as bytes: columnar fixed-width little-endian arrays, zlib when large.

Layout: one version byte, then the body: resident_id, the city table, and one column per
StoredRecord field over the records sorted by (city, record_id); months are delta-coded in
that order. Sorting makes the bytes a function of the state alone, and the columns of equal
bases, amounts, revisions and consecutive months compress to little. Version 1: the body in
zlib; version 2: the body as it is, written for bodies up to RAW_UP_TO bytes. A body that
small (a person with up to ~70 records) is ~3x its zlib size (494 vs 171 B at the benchmark's
median person), but compressing it was 9% of the aggregation's processing: a person changed
in a batch is encoded once per batch, and zlib's set-up alone is most of an encode at a few
hundred bytes. RocksDB compresses its files (snappy) on its own. Larger bodies, where the
bytes matter and the set-up does not, are still compressed. Both versions are read.

Measured (tests/unit/domain/contributions/test_encoding.py builds the first two), zlib level 1
(level 6, used before: 1,757 B and 8,136 B, but ~4x slower to compress; the worker encodes every
changed ledger of every batch, and that was 6% of its time):
  240 months in 2 cities, PENSION only, ids like "440300-PEN-2010-01":  1,972 B (8.2 B/record)
  the same person in all 5 schemes (1,200 records):                      9,350 B (7.8 B/record)
  as above with random UUID record ids (level 6):          7,007 B / 33,409 B (~28 B/record)
Raw columns are ~50 B/record; the 4-byte digests, which do not compress, are over half of
what is left. Speed on a loaded 2-core box: encode 106 us at 240 records, 560 us at 1,200
(level 6: 145 us / 860 us); decode 125 us / 575 us.
"""
from __future__ import annotations

import struct
import zlib
from functools import partial
from itertools import accumulate
from operator import sub

from citybus.domain.contributions.records import SCHEMES
from citybus.domain.contributions.stored import RecordKey, StoredRecord
from citybus.errors import CitybusError

__all__ = ["encode_ledger", "decode_ledger", "STATE_VERSION", "RAW_VERSION", "RAW_UP_TO"]

STATE_VERSION = 1  # zlib
RAW_VERSION = 2
RAW_UP_TO = 4096
_SCHEME_INDEX = {s: i for i, s in enumerate(SCHEMES)}
_LEVEL = 1  # level 6: ~13% fewer bytes, ~4x slower to compress (every changed ledger, every batch); the decoder reads either
_make_stored = partial(tuple.__new__, StoredRecord)  # C-speed StoredRecord._make


def _strings(values: tuple[str, ...] | list[str]) -> bytes:
    blobs = [v.encode() for v in values]
    return struct.pack(f"<I{len(blobs)}I", len(blobs), *map(len, blobs)) + b"".join(blobs)


def encode_ledger(resident_id: str, records: dict[RecordKey, StoredRecord]) -> bytes:
    keys = sorted(records)
    n = len(keys)
    rows = tuple(map(records.__getitem__, keys))
    city_col, record_ids = zip(*keys) if keys else ((), ())
    revs, digests, actives, schemes, kinds, months, bases, employees = zip(*rows) if rows else ((),) * 8
    cities = sorted(set(city_col))
    city_index = {c: i for i, c in enumerate(cities)}
    body = b"".join((
        _strings([resident_id]),
        _strings(cities),
        _strings(record_ids),
        struct.pack(f"<{n}I", *map(city_index.__getitem__, city_col)),
        bytes(actives),
        bytes(map(_SCHEME_INDEX.__getitem__, schemes)),
        bytes(kinds),
        struct.pack(f"<{n}I", *revs),
        struct.pack(f"<{n}I", *digests),
        struct.pack(f"<{n}i", *map(sub, months, (0, *months))),
        struct.pack(f"<{n}Q", *bases),
        struct.pack(f"<{n}Q", *employees),
    ))
    if len(body) <= RAW_UP_TO:
        return bytes((RAW_VERSION,)) + body
    return bytes((STATE_VERSION,)) + _compress(body)


def _compress(body: bytes) -> bytes:
    """zlib at _LEVEL with a window no larger than the body and a hash table to match: a window
    beyond the body finds no more matches (measured: 163 B for a 614 B body either way, 1,969
    vs 1,971 B at 13.7 KB), but the compressor's state is ~3 KiB instead of ~260 KiB, and
    allocating and clearing that cost 5-45 us per call (45 where the allocator hands it out by
    mmap): most of an encode at 10 records. The decoder reads any window."""
    wbits = min(15, max(9, (len(body) - 1).bit_length()))
    compressor = zlib.compressobj(_LEVEL, zlib.DEFLATED, wbits, max(1, wbits - 7))
    return compressor.compress(body) + compressor.flush()


class _Reader:
    __slots__ = ("data", "pos")

    def __init__(self, data: bytes) -> None:
        self.data, self.pos = data, 0

    def take(self, fmt: str) -> tuple:
        values = struct.unpack_from(fmt, self.data, self.pos)
        self.pos += struct.calcsize(fmt)
        return values

    def strings(self) -> list[str]:
        (count,) = self.take("<I")
        ends = list(accumulate(self.take(f"<{count}I"), initial=self.pos))
        data = self.data
        self.pos = ends[-1]
        return [data[a:b].decode() for a, b in zip(ends, ends[1:])]


def decode_ledger(data: bytes) -> tuple[str, dict[RecordKey, StoredRecord]]:
    try:
        if not data or data[0] not in (STATE_VERSION, RAW_VERSION):
            raise ValueError(f"unknown state version {data[:1]!r}")
        reader = _Reader(zlib.decompress(data[1:]) if data[0] == STATE_VERSION else data[1:])
        (resident_id,) = reader.strings()
        cities = reader.strings()
        record_ids = reader.strings()
        n = len(record_ids)
        # Lazy maps over eagerly read columns, in the order encode_ledger wrote them.
        keys = zip(map(cities.__getitem__, reader.take(f"<{n}I")), record_ids)
        actives = map(bool, reader.take(f"<{n}B"))
        schemes = map(SCHEMES.__getitem__, reader.take(f"<{n}B"))
        kinds = reader.take(f"<{n}B")
        revisions, digests = reader.take(f"<{n}I"), reader.take(f"<{n}I")
        months = accumulate(reader.take(f"<{n}i"))
        bases, employees = reader.take(f"<{n}Q"), reader.take(f"<{n}Q")
        rows = map(_make_stored, zip(revisions, digests, actives, schemes, kinds, months, bases, employees))
        records = dict(zip(keys, rows))
        if reader.pos != len(reader.data):
            raise ValueError("trailing bytes")
    except (ValueError, IndexError, struct.error, zlib.error, UnicodeDecodeError) as exc:
        raise CitybusError(f"ledger state: cannot decode ({exc})") from exc
    return resident_id, records
