"""Light fetched records (citybus.kafka.fetching) against aiokafka's own, on real record batch bytes:
the same records, field for field, whatever the batches hold; headers read once per batch, when
asked; bad bytes refused as aiokafka refuses them."""
from __future__ import annotations

import dataclasses
import logging
import struct

import pytest
from aiokafka import AIOKafkaConsumer
from aiokafka.consumer.fetcher import PartitionRecords
from aiokafka.errors import CorruptRecordException
from aiokafka.record.default_records import DefaultRecordBatchBuilder
from aiokafka.record.memory_records import MemoryRecords
from aiokafka.record.util import calc_crc32c
from aiokafka.structs import ConsumerRecord, TopicPartition

from citybus.kafka import fetching
from citybus.kafka.fetching import FetchedRecord, LightRecords, check_internals, lighten

TP = TopicPartition("contributions", 3)
CLOUDEVENT = [("ce_specversion", b"1.0"), ("ce_id", b"id-1"), ("ce_source", b"/cities/440300/insurance"),
              ("ce_type", b"citybus.insurance.ContributionRecorded"), ("content-type", b"application/avro")]
_GZIP, _CONTROL = 1, 0x20


def _batch(base_offset: int, rows: list[tuple[bytes | None, bytes | None, list]], compression: int = 0,
           control: bool = False) -> bytes:
    builder = DefaultRecordBatchBuilder(magic=2, compression_type=compression, is_transactional=int(control),
                                        producer_id=7 if control else -1, producer_epoch=0 if control else -1,
                                        base_sequence=-1, batch_size=1 << 20)
    for delta, (key, value, headers) in enumerate(rows):
        builder.append(delta, timestamp=1_700_000_000_000 + base_offset + delta, key=key, value=value,
                       headers=headers)
    data = bytearray(builder.build())
    struct.pack_into(">q", data, 0, base_offset)  # the base offset is outside the CRC, as the broker sets it
    if control:
        attributes = struct.unpack_from(">h", data, 21)[0] | _CONTROL
        struct.pack_into(">h", data, 21, attributes)
        struct.pack_into(">I", data, 17, calc_crc32c(bytes(data[21:])))
    return bytes(data)


def _rows(n: int, start: int = 0) -> list[tuple[bytes | None, bytes | None, list]]:
    rows: list[tuple[bytes | None, bytes | None, list]] = []
    for i in range(start, start + n):
        headers = [] if i % 4 == 0 else [*CLOUDEVENT, ("n", str(i).encode()), ("empty", None)][: 3 + i % 5]
        key = None if i % 7 == 0 else f"44030019900101{i:04d}".encode()
        value = None if i % 11 == 0 else f"value-{i}".encode() * (1 + i % 3)
        rows.append((key, value, headers))
    return rows


def _fetched(data: bytes, fetch_offset: int = 0) -> tuple[list[ConsumerRecord], list[FetchedRecord], int, int]:
    """aiokafka's records and the light ones over the same bytes, and where each says to fetch next."""
    theirs = PartitionRecords(TP, MemoryRecords(data), [], fetch_offset, None, None, True, 0)
    ours = LightRecords(TP, MemoryRecords(data), data, fetch_offset, True)
    expected, got = list(theirs), list(ours)
    return expected, got, theirs.next_fetch_offset, ours.next_fetch_offset


def _same(expected: list[ConsumerRecord], got: list[FetchedRecord]) -> None:
    assert [type(r) for r in got] == [FetchedRecord] * len(expected)
    fields = [f.name for f in dataclasses.fields(ConsumerRecord)]
    assert [[getattr(r, f) for f in fields] for r in got] == [[getattr(r, f) for f in fields] for r in expected]


def test_the_same_records_as_aiokafka_over_many_batches_with_and_without_headers():
    data = b"".join(_batch(base, _rows(40, base)) for base in range(0, 400, 40))
    expected, got, their_next, our_next = _fetched(data)
    assert len(expected) == 400
    _same(expected, got)
    assert our_next == their_next == 400
    assert all(isinstance(r, ConsumerRecord) for r in got)
    assert got[1].headers == tuple(CLOUDEVENT[:4])
    assert got[0].headers == () and got[0].key is None and got[0].serialized_key_size == -1


def test_records_before_the_fetch_offset_are_skipped_and_control_batches_too():
    data = (_batch(0, _rows(10)) + _batch(10, [(b"\x00\x00\x00\x00", b"", [])], control=True)
            + _batch(11, _rows(10, 11), compression=_GZIP))
    expected, got, their_next, our_next = _fetched(data, fetch_offset=6)
    assert [r.offset for r in got] == [6, 7, 8, 9, *range(11, 21)]
    _same(expected, got)
    assert our_next == their_next == 21
    # only a control batch left: nothing to hand out, and the next fetch starts after it
    expected, got, their_next, our_next = _fetched(_batch(30, [(b"\x00\x00\x00\x00", b"", [])], control=True), 30)
    assert got == expected == [] and our_next == their_next == 31


def test_headers_are_read_once_per_batch_and_only_when_asked(monkeypatch):
    built: list[int] = []
    real = fetching.DefaultRecordBatch

    def counting(buffer: bytes):  # noqa: ANN202 - aiokafka's batch type
        built.append(len(buffer))
        return real(buffer)

    monkeypatch.setattr(fetching, "DefaultRecordBatch", counting)
    data = _batch(0, _rows(20)) + _batch(20, _rows(20, 20), compression=_GZIP)
    expected, got, _, _ = _fetched(data)
    assert built == []  # nothing parsed again while fetching
    assert [r.headers for r in got[:20]] == [r.headers for r in expected[:20]]
    assert built == [len(_batch(0, _rows(20)))]  # the first batch, once, for all its records
    assert [r.headers for r in got[20:]] == [r.headers for r in expected[20:]]  # a compressed batch too
    assert len(built) == 2


def test_a_batch_not_where_the_framing_says_keeps_its_headers_read_eagerly():
    data = _batch(0, _rows(12))
    theirs = list(PartitionRecords(TP, MemoryRecords(data), [], 0, None, None, True, 0))
    # bytes that do not frame the batches MemoryRecords reads (never seen from a broker)
    for raw in (b"\x00" * 12 + data, _batch(0, _rows(12, 1)) + data):  # the second: another batch at offset 0
        ours = list(LightRecords(TP, MemoryRecords(data), raw, 0, True))
        assert all(r._headers is not None for r in ours)
        _same(theirs, ours)
    assert all(r._headers is None for r in LightRecords(TP, MemoryRecords(data), data, 0, True))


def test_a_corrupt_batch_is_refused_as_aiokafka_refuses_it():
    data = bytearray(_batch(0, _rows(5)))
    data[-3] ^= 0xFF  # a bit of the last record's value flipped on the wire
    with pytest.raises(CorruptRecordException, match="Invalid CRC"):
        list(PartitionRecords(TP, MemoryRecords(bytes(data)), [], 0, None, None, True, 0))
    with pytest.raises(CorruptRecordException, match="Invalid CRC"):
        list(LightRecords(TP, MemoryRecords(bytes(data)), bytes(data), 0, True))


def test_replace_and_equality_work_as_on_a_consumer_record():
    _, got, _, _ = _fetched(_batch(0, _rows(3)))
    record = got[1]
    moved = dataclasses.replace(record, topic="elsewhere", key=b"k", headers=[("a", b"b")])
    assert type(moved) is FetchedRecord
    assert (moved.topic, moved.key, moved.headers, moved.value) == ("elsewhere", b"k", (("a", b"b"),), record.value)
    assert moved.serialized_key_size == record.serialized_key_size  # as given, like any field
    assert dataclasses.replace(record) == record != moved


def test_the_installed_aiokafka_has_what_the_light_fetcher_relies_on():
    assert check_internals() == ()


async def test_a_consumer_not_started_is_left_as_it_is(caplog):
    consumer = AIOKafkaConsumer(bootstrap_servers="127.0.0.1:9")
    monkey = fetching._warned
    fetching._warned = False
    try:
        with caplog.at_level(logging.WARNING, logger=fetching.__name__):
            assert lighten(consumer) is False
        assert "records are fetched the usual way" in caplog.text
        assert consumer._fetcher is None
    finally:
        fetching._warned = monkey


def test_lightening_a_fetch_leaves_nothing_for_the_collector(monkeypatch):
    """aiokafka's unstarted PartitionRecords and its generator hold each other: left so, every fetched
    buffer waits for the next collection (the services collect rarely: 300 MB more at peak)."""
    import gc
    import weakref

    from aiokafka.consumer.fetcher import FetchResult

    data = _batch(0, _rows(10))
    theirs = PartitionRecords(TP, MemoryRecords(data), [], 0, None, None, True, 0)
    result = FetchResult(TP, assignment=object(), partition_records=theirs, backoff=0)
    fetcher = object.__new__(fetching._LightFetcher)
    fetcher._records = {TP: result}
    gone = weakref.ref(theirs)
    gc.disable()
    try:
        del theirs
        fetcher._lighten({(TP.topic, TP.partition): (0, data)})
        assert gone() is None  # freed when replaced, not by a collection
    finally:
        gc.enable()
    assert type(result._partition_records) is LightRecords
    assert [r.offset for r in result._partition_records] == list(range(10))
    # a result from another fetch offset than the response's is not this response's: left as it is
    other = PartitionRecords(TP, MemoryRecords(data), [], 4, None, None, True, 0)
    fetcher._records = {TP: FetchResult(TP, assignment=object(), partition_records=other, backoff=0)}
    fetcher._lighten({(TP.topic, TP.partition): (0, data)})
    assert fetcher._records[TP]._partition_records is other
