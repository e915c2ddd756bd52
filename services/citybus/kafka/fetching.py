"""Fetched records at less cost per record than aiokafka's own, headers read when asked for.

aiokafka turns every fetched record into a `ConsumerRecord` (a dataclass built through its
`__init__`, eleven fields) and copies its headers into a tuple, through a generator per
partition. Those headers (a CloudEvent carries six or seven) are a list, a tuple per header and
its name and value: objects that live until the batch is done, for every record, when the
services look at them only to forward a record or to dead-letter it. Measured (bench/README.md,
session 18) on record batches like the aggregation benchmark's: aiokafka's path 1.9-2.5 us per
record, this one 1.1; live, in three alternated `citybus bench --only aggregate` runs, the
aggregation worker's CPU per event went from 20.0-21.5 us to 18.8-19.7.

`lighten(consumer)`, right after `consumer.start()` and before it subscribes or is assigned
partitions, makes that consumer's fetcher hand out `FetchedRecord`s instead: a `ConsumerRecord`
subclass (so `isinstance`, `dataclasses.replace` and typing hold) whose `headers` are parsed
again from the fetched record batch, once per batch, the first time one of its records is asked
for them. Only plain fetches are lightened: read_uncommitted, no key or value deserializer
(transactional filtering stays aiokafka's). A batch whose bytes are not laid out as the fetch
response says keeps its headers as aiokafka would (read eagerly): the records are the same
either way, only the cost differs.

This reaches into aiokafka's fetcher (`Fetcher._proc_fetch_request`, `FetchResult`,
`PartitionRecords`), which is why aiokafka is pinned to one version in pyproject.toml;
`check_internals` says what a newer aiokafka no longer has, and `lighten` then leaves the
consumer as it is (logged once). tests/unit/kafka/test_fetching.py checks the installed one.
"""
from __future__ import annotations

import functools
import inspect
import logging
import struct
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from aiokafka import AIOKafkaConsumer
from aiokafka.consumer import fetcher as _fetcher
from aiokafka.errors import CorruptRecordException
from aiokafka.protocol.fetch import FetchRequest_v0
from aiokafka.record.default_records import DefaultRecordBatch
from aiokafka.record.memory_records import MemoryRecords
from aiokafka.structs import ConsumerRecord, TopicPartition

__all__ = ["FetchedRecord", "LightRecords", "lighten", "check_internals"]

log = logging.getLogger(__name__)

_FETCH_API_KEY = FetchRequest_v0.API_KEY
# a record batch (v2) starts: base offset, length, leader epoch, magic, CRC (a legacy message:
# offset, length, then its own fields)
_BATCH_HEAD = struct.Struct(">qiibI")
_new = object.__new__
Headers = tuple[tuple[str, bytes | None], ...]


class _BatchHeaders:
    """The headers of one fetched record batch, parsed from its bytes at the first question."""

    __slots__ = ("_raw", "_start", "_end", "_by_offset")

    def __init__(self, raw: bytes, start: int, end: int) -> None:
        self._raw: bytes | None = raw
        self._start, self._end = start, end
        self._by_offset: dict[int, Headers] | None = None

    def of(self, offset: int) -> Headers:
        by_offset = self._by_offset
        if by_offset is None:
            assert self._raw is not None
            batch = DefaultRecordBatch(self._raw[self._start:self._end])
            by_offset = self._by_offset = {record.offset: tuple(record.headers) for record in batch}
            self._raw = None  # the fetch's bytes are no longer held for this batch
        return by_offset[offset]


class FetchedRecord(ConsumerRecord):  # aiokafka is untyped here (Any: pyproject.toml)
    """A `ConsumerRecord` whose headers are read from its batch when first asked for.

    Built by `LightRecords` without `__init__`; anything that builds one through `__init__`
    (`dataclasses.replace`) sets every field, the headers included, as for a `ConsumerRecord`."""

    __slots__ = ("checksum", "_source", "_headers", "_key_size", "_value_size")
    checksum: int | None  # deprecated by aiokafka: None for every v2 record
    _source: _BatchHeaders | None
    _headers: Headers | None

    @property
    def headers(self) -> Headers:
        headers = self._headers
        if headers is None:
            assert self._source is not None  # only a record built lazy has no headers yet
            headers = self._headers = self._source.of(self.offset)
        return headers

    @headers.setter
    def headers(self, value: Sequence[tuple[str, bytes | None]]) -> None:
        self._headers = tuple(value)

    @property
    def serialized_key_size(self) -> int:
        size = getattr(self, "_key_size", None)
        return size if size is not None else (-1 if self.key is None else len(self.key))

    @serialized_key_size.setter
    def serialized_key_size(self, value: int) -> None:
        self._key_size = value

    @property
    def serialized_value_size(self) -> int:
        size = getattr(self, "_value_size", None)
        return size if size is not None else (-1 if self.value is None else len(self.value))

    @serialized_value_size.setter
    def serialized_value_size(self, value: int) -> None:
        self._value_size = value


class LightRecords:
    """What aiokafka's `PartitionRecords` is to a `FetchResult` (an iterator over the records
    of one partition's fetch that keeps `next_fetch_offset`), making `FetchedRecord`s.

    As aiokafka's (read_uncommitted): CRCs checked per batch when asked, control batches
    skipped, records before the fetch offset skipped (a compacted or compressed batch starts
    earlier), the next fetch offset after the batch's last offset even when compaction removed
    the records at its end."""

    def __init__(self, tp: TopicPartition, records: Any, raw: bytes, fetch_offset: int, check_crcs: bool) -> None:
        self.next_fetch_offset = fetch_offset
        self._iterator: Iterator[FetchedRecord] | None = self._unpack(tp, records, raw, check_crcs)

    def __iter__(self) -> LightRecords:
        return self

    def __next__(self) -> FetchedRecord:
        if self._iterator is None:
            raise StopIteration
        try:
            return next(self._iterator)
        except StopIteration:
            self._iterator = None
            raise

    def _unpack(self, tp: TopicPartition, records: Any, raw: bytes, check_crcs: bool) -> Iterator[FetchedRecord]:
        topic, partition = tp.topic, tp.partition
        new, cls, head, size = _new, FetchedRecord, _BATCH_HEAD.unpack_from, len(raw)
        position = 0
        while records.has_next():
            batch = records.next_batch()
            start = position
            base_offset, length, _, magic, crc = head(raw, start) if start + 21 <= size else (-1, -9, 0, 0, 0)
            position = start + 12 + length
            if check_crcs and not batch.validate_crc():
                raise CorruptRecordException(f"Invalid CRC - {tp}")
            if batch.is_control_batch:
                self.next_fetch_offset = batch.next_offset
                continue
            # a batch not where the fetch response's framing puts it (never seen) keeps its
            # headers as aiokafka would, read now; a legacy (v0/v1) message has none
            lazy = (magic == 2 and batch.magic == 2 and position <= size and base_offset == batch.base_offset
                    and crc == batch.crc)
            source = _BatchHeaders(raw, start, position) if lazy else None
            for record in batch:
                offset = record.offset
                if offset < self.next_fetch_offset:
                    continue
                light = new(cls)
                light.topic = topic
                light.partition = partition
                light.offset = offset
                light.timestamp = record.timestamp
                light.timestamp_type = record.timestamp_type
                light.key = record.key
                light.value = record.value
                light.checksum = record.checksum
                light._source = source
                light._headers = None if lazy else tuple(record.headers)
                self.next_fetch_offset = offset + 1
                yield light
            self.next_fetch_offset = batch.next_offset


class _RawFetches:
    """The fetcher's client, keeping each fetch response's record bytes per partition, with the
    offset the request fetched from, until the fetcher has made its results (`take`)."""

    def __init__(self, client: Any) -> None:
        self._client = client
        self._raw: dict[int, dict[tuple[str, int], tuple[int, bytes]]] = {}

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)

    async def send(self, node_id: int, request: Any, **kwargs: Any) -> Any:
        response = await self._client.send(node_id, request, **kwargs)
        if getattr(request, "API_KEY", None) == _FETCH_API_KEY:
            offsets = {(topic, fetch[0]): fetch[1] for topic, partitions in request.topics for fetch in partitions}
            self._raw[id(request)] = {(topic, data[0]): (offsets[topic, data[0]], data[-1])
                                      for topic, partitions in response.topics for data in partitions
                                      if (topic, data[0]) in offsets and data[-1]}
        return response

    def take(self, request: Any) -> Mapping[tuple[str, int], tuple[int, bytes]]:
        return self._raw.pop(id(request), {})


class _LightFetcher(_fetcher.Fetcher):
    async def _proc_fetch_request(self, assignment: Any, node_id: int, request: Any) -> Any:
        try:
            return await super()._proc_fetch_request(assignment, node_id, request)
        finally:  # also when the fetch failed or was cancelled: its bytes are dropped
            raw = self._client.take(request)
            if raw:
                self._lighten(raw)

    def _lighten(self, raw: Mapping[tuple[str, int], tuple[int, bytes]]) -> None:
        """The results this response just made (untouched, from the offset it fetched): light
        records over the same bytes."""
        for tp, result in self._records.items():
            if type(result) is not _fetcher.FetchResult:
                continue
            records = result._partition_records
            fetched = raw.get((tp.topic, tp.partition))
            if (fetched is None or type(records) is not _fetcher.PartitionRecords
                    or records.next_fetch_offset != fetched[0]
                    or records._isolation_level != _fetcher.READ_UNCOMMITTED
                    or records._key_deserializer is not None or records._value_deserializer is not None
                    or records._records_iterator is None
                    or inspect.getgeneratorstate(records._records_iterator) != inspect.GEN_CREATED):
                continue
            result._partition_records = LightRecords(tp, MemoryRecords(fetched[1]), fetched[1], fetched[0],
                                                     records._check_crcs)
            # aiokafka's unstarted generator holds its PartitionRecords (and so the fetched bytes) in a
            # reference cycle: broken here, the bytes go with the light records, not at the next
            # collection (the services collect rarely: 300 MB more at peak in the benchmark)
            records._records_iterator = None


# what of aiokafka's fetcher this relies on: class -> attributes (methods, or set on self)
_NEEDS = {
    "Fetcher": ("_proc_fetch_request", "_records", "_client"),
    "FetchResult": ("_partition_records",),
    "PartitionRecords": ("_records_iterator", "_isolation_level", "_key_deserializer", "_value_deserializer",
                         "_check_crcs", "next_fetch_offset"),
}


@functools.cache
def check_internals() -> tuple[str, ...]:
    """What of aiokafka's fetcher this module relies on and the installed aiokafka lacks."""
    missing = [] if hasattr(_fetcher, "READ_UNCOMMITTED") else ["READ_UNCOMMITTED"]
    for name, attributes in _NEEDS.items():
        cls = getattr(_fetcher, name, None)
        if cls is None:
            missing.append(name)
            continue
        source = inspect.getsource(cls)
        missing.extend(f"{name}.{attribute}" for attribute in attributes
                       if not hasattr(cls, attribute) and f"self.{attribute} = " not in source)
    return tuple(missing)


_warned = False


def lighten(consumer: AIOKafkaConsumer) -> bool:
    """Make a started consumer's fetcher hand out `FetchedRecord`s; False (and a warning, once)
    when the installed aiokafka is not the one this was written against."""
    global _warned
    fetcher = getattr(consumer, "_fetcher", None)
    missing = check_internals()
    if type(fetcher) is not _fetcher.Fetcher or missing:
        if not _warned:
            log.warning("aiokafka's fetcher is not as citybus.kafka.fetching expects (%s): records are fetched "
                        "the usual way", ", ".join(missing) or f"fetcher {type(fetcher).__name__}")
            _warned = True
        return False
    assert fetcher is not None
    fetcher._client = _RawFetches(fetcher._client)
    fetcher.__class__ = _LightFetcher
    return True
