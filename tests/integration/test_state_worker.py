"""The stateful worker itself on the real broker. Pipelined, with many small batches settling
while the next is decided, every input's output is on the broker once and in order per key,
the committed offsets reach the end, and a second worker on an empty disk restores from the
changelog exactly the state the first one stored. Ticking: no tick before the inputs already
there are processed again, and what a tick sends after its state waits for the changelog."""
from __future__ import annotations

import asyncio
import uuid
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.structs import ConsumerRecord

from citybus.catalog.model import TopicSpec
from citybus.kafka.purge import HopPurger
from citybus.kafka.topics import ensure_topics
from citybus.streams.store import Stores
from citybus.streams.batch import Batch, Send, partition_of
from citybus.streams.worker import AssignmentFailed, StateWorker, WorkerConfig

PARTITIONS = 3
KEYS = 40
PER_KEY = 60


class Relay:
    """Sends each input to the output topic and stores, per key, the last value and a count."""

    def __init__(self, output: str) -> None:
        self.output = output
        self.counts: dict[bytes, int] = {}  # kept readable for the unsettled batch, as the worker requires

    async def process(self, records: Sequence[ConsumerRecord], stores: Stores, send: Send) -> Batch:
        batch = Batch()
        for record in records:
            count = self.counts.get(record.key)
            if count is None:
                stored = stores[record.partition].get(b"n:" + record.key)
                count = int(stored) if stored is not None else 0
            self.counts[record.key] = count + 1
            await send(self.output, record.key, record.value, (), record.partition)
            batch.put(record.partition, b"n:" + record.key, str(count + 1).encode())
            batch.put(record.partition, b"last:" + record.key, record.value)
        return batch

    def forget(self, partitions) -> None:  # noqa: ANN001
        self.counts.clear()


def _spec(name: str, cleanup: str = "delete") -> TopicSpec:
    return TopicSpec(name=name, record="", key="", partitions=PARTITIONS, replication_factor=1, min_insync_replicas=1,
                     retention_ms=-1, cleanup_policy=cleanup, writers=(), readers=())


async def _run_until_caught_up(worker: StateWorker, source: str, ends: dict[int, int], timeout: float = 90,
                               until: Callable[[], bool] = lambda: True) -> None:
    """Run `worker` until its group's committed offsets reach `ends` and `until()` holds."""
    await worker.start()
    task = asyncio.create_task(worker.run())
    consumer = AIOKafkaConsumer(bootstrap_servers=worker.bootstrap, group_id=worker.config.group,
                                enable_auto_commit=False)
    await consumer.start()
    try:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            assert not task.done(), task.exception() if task.done() else None
            committed = {p: (await consumer.committed(TopicPartition(source, p))) or 0 for p in ends}
            if committed == ends and until():
                break
            assert loop.time() < deadline, f"committed {committed}, end {ends}, until() {until()}"
            await asyncio.sleep(0.2)
    finally:
        await consumer.stop()
        worker.stop_soon()
        await asyncio.wait_for(task, 30)


async def test_a_pipelined_worker_loses_nothing_keeps_order_and_restores_from_its_changelog(kafka_bootstrap,
                                                                                            tmp_path: Path):
    run = uuid.uuid4().hex[:8]
    source, output, changelog = f"sw-{run}-in", f"sw-{run}-out", f"sw-{run}-changelog"
    await ensure_topics(kafka_bootstrap, [_spec(source), _spec(output), _spec(changelog, "compact")])

    producer = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap, acks="all", enable_idempotence=True)
    await producer.start()
    try:
        for i in range(PER_KEY):
            for k in range(KEYS):
                key = f"k{k}".encode()
                await producer.send(source, f"{k}:{i}".encode(), key=key, partition=partition_of(key, PARTITIONS))
        await producer.flush()
    finally:
        await producer.stop()
    ends: dict[int, int] = defaultdict(int)
    for k in range(KEYS):
        ends[partition_of(f"k{k}".encode(), PARTITIONS)] += PER_KEY

    def config(name: str) -> WorkerConfig:
        return WorkerConfig(group=f"sw-{run}", topics=[source], changelog=changelog, data_dir=tmp_path / name,
                            url=f"http://{name}", partitions=PARTITIONS, max_records=7, pipelined=True)

    first = StateWorker(kafka_bootstrap, config("first"), Relay(output))
    await _run_until_caught_up(first, source, dict(ends))
    assert first.batches > KEYS * PER_KEY // 7 // 2  # many small batches, each settling behind the next

    reader = AIOKafkaConsumer(output, bootstrap_servers=kafka_bootstrap, auto_offset_reset="earliest",
                              enable_auto_commit=False)
    await reader.start()
    seen: dict[str, list[int]] = defaultdict(list)
    try:
        while sum(map(len, seen.values())) < KEYS * PER_KEY:
            fetched = await asyncio.wait_for(reader.getmany(timeout_ms=1000), 30)
            assert fetched or sum(map(len, seen.values())), "nothing on the output topic"
            for records in fetched.values():
                for record in records:
                    k, i = record.value.decode().split(":")
                    seen[k].append(int(i))
    finally:
        await reader.stop()
    assert all(seen[str(k)] == list(range(PER_KEY)) for k in range(KEYS)), "an output lost, doubled or reordered"

    # a second worker, same group, empty disk: everything comes back from the changelog
    second = StateWorker(kafka_bootstrap, config("second"), Relay(output))
    await second.start()
    task = asyncio.create_task(second.run())
    try:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 60
        while second.ready != set(range(PARTITIONS)):
            assert loop.time() < deadline, f"restored only {second.ready}"
            await asyncio.sleep(0.2)
        for k in range(KEYS):
            key = f"k{k}".encode()
            store = second.stores[partition_of(key, PARTITIONS)]
            assert store.get(b"n:" + key) == str(PER_KEY).encode()
            assert store.get(b"last:" + key) == f"{k}:{PER_KEY - 1}".encode()
    finally:
        second.stop_soon()
        await asyncio.wait_for(task, 30)


class Timed(Relay):
    """A Relay that also ticks, noting which partitions each tick was given and how many of
    each partition's inputs had been processed by then."""

    def __init__(self, output: str) -> None:
        super().__init__(output)
        self.processed: dict[int, int] = defaultdict(int)
        self.ticks: list[dict[int, int]] = []

    async def process(self, records: Sequence[ConsumerRecord], stores: Stores, send: Send) -> Batch:
        for record in records:
            self.processed[record.partition] += 1
        return await super().process(records, stores, send)

    async def tick(self, ready: frozenset[int], stores: Stores, send: Send) -> Batch:
        self.ticks.append({p: self.processed[p] for p in ready})
        return Batch()


async def _produce(bootstrap: str, topic: str, per_key: int) -> dict[int, int]:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", enable_idempotence=True)
    await producer.start()
    ends: dict[int, int] = defaultdict(int)
    try:
        for i in range(per_key):
            for k in range(KEYS):
                key = f"k{k}".encode()
                partition = partition_of(key, PARTITIONS)
                await producer.send(topic, f"{k}:{i}".encode(), key=key, partition=partition)
                ends[partition] += 1
        await producer.flush()
    finally:
        await producer.stop()
    return dict(ends)


async def test_no_tick_reaches_a_partition_before_the_inputs_already_on_it_are_processed(kafka_bootstrap,
                                                                                         tmp_path: Path):
    """After a crash the uncommitted inputs are decided again; a deadline must not be decided
    before them (its decision would race the one whose outputs may already be out)."""
    run = uuid.uuid4().hex[:8]
    source, output, changelog = f"tk-{run}-in", f"tk-{run}-out", f"tk-{run}-changelog"
    await ensure_topics(kafka_bootstrap, [_spec(source), _spec(output), _spec(changelog, "compact")])
    ends = await _produce(kafka_bootstrap, source, 10)  # left uncommitted, as by a worker killed mid-run

    processor = Timed(output)
    worker = StateWorker(kafka_bootstrap, WorkerConfig(
        group=f"tk-{run}", topics=[source], changelog=changelog, data_dir=tmp_path / "w", url="http://w",
        partitions=PARTITIONS, max_records=5, tick_interval=0.002), processor)
    await _run_until_caught_up(  # and every partition has ticked since
        worker, source, ends, until=lambda: {p for tick in processor.ticks for p in tick} == set(range(PARTITIONS)))

    early = [tick for tick in processor.ticks if any(seen < ends[p] for p, seen in tick.items())]
    assert not early, f"ticked before the replay was done: {early[:3]} of {ends}"


async def test_outputs_sent_after_the_state_wait_until_it_is_changelogged(kafka_bootstrap, tmp_path: Path,
                                                                         monkeypatch):
    run = uuid.uuid4().hex[:8]
    source, status, commands, changelog = (f"sa-{run}-{name}" for name in ("in", "status", "commands", "changelog"))
    await ensure_topics(kafka_bootstrap, [_spec(t) for t in (source, status, commands)] + [_spec(changelog, "compact")])

    class Deciding(Relay):
        """Decides once per partition on the clock: a status now, a command once the decision is kept."""

        async def tick(self, ready: frozenset[int], stores: Stores, send: Send) -> Batch:
            batch = Batch()
            for partition in ready:
                if stores[partition].get(b"decided") is None:
                    await send(status, b"s", b"decided", (), partition)
                    batch.put(partition, b"decided", b"yes")
                    batch.send_after(commands, b"c", b"act", (), partition)
            return batch

    def worker(name: str) -> StateWorker:
        return StateWorker(kafka_bootstrap, WorkerConfig(
            group=f"sa-{run}", topics=[source], changelog=changelog, data_dir=tmp_path / name, url=f"http://{name}",
            partitions=PARTITIONS, tick_interval=0.05), Deciding(commands))

    async def changelog_down(batch: Batch) -> dict:
        raise RuntimeError("the changelog write failed")

    crashing = worker("first")
    monkeypatch.setattr(crashing, "_changelog", changelog_down)
    await crashing.start()
    with pytest.raises(RuntimeError, match="changelog write failed"):
        await asyncio.wait_for(crashing.run(), 60)
    assert await _values(kafka_bootstrap, status), "the status goes out before the state"
    assert await _values(kafka_bootstrap, commands) == [], "a command went out for a decision never kept"

    second = worker("second")  # the decision is made again, kept, and then acted on
    await second.start()
    task = asyncio.create_task(second.run())
    try:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 60
        while len(await _values(kafka_bootstrap, commands)) < PARTITIONS:
            assert not task.done() and loop.time() < deadline, "no command after the state was kept"
            await asyncio.sleep(0.2)
        assert all(second.stores[p].get(b"decided") == b"yes" for p in range(PARTITIONS))
    finally:
        second.stop_soon()
        await asyncio.wait_for(task, 30)


async def test_a_pipelined_batch_whose_outputs_after_the_state_fail_is_not_committed(kafka_bootstrap,
                                                                                     tmp_path: Path):
    """Pipelined, a batch's `send_after` outputs are delivered (and its offsets committed) while
    the next batch settles. When the broker refuses one (here: over the topic's
    max.message.bytes), the worker stops with that error, its state is kept, and no offset at or
    past that batch is committed: the batch is replayed, as the outputs it still owes need."""
    run = uuid.uuid4().hex[:8]
    source, out, changelog = (f"pa-{run}-{name}" for name in ("in", "out", "changelog"))
    await ensure_topics(kafka_bootstrap, [_spec(source), replace(_spec(out), max_message_bytes=2_000),
                                          _spec(changelog, "compact")])

    class After(Relay):
        """Keeps each input, then sends it on once kept; `big` over the output topic's limit."""

        async def process(self, records: Sequence[ConsumerRecord], stores: Stores, send: Send) -> Batch:
            batch = Batch()
            for record in records:
                batch.put(record.partition, b"last:" + record.key, record.value)
                batch.send_after(out, record.key, b"x" * 10_000 if record.value == b"big" else record.value, (),
                                 record.partition)
            return batch

    producer = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap, acks="all")
    await producer.start()
    try:
        for i in range(50):
            await producer.send_and_wait(source, f"v{i}".encode(), key=b"k", partition=0)
        big = await producer.send_and_wait(source, b"big", key=b"k", partition=0)
        for i in range(50, 60):
            await producer.send_and_wait(source, f"v{i}".encode(), key=b"k", partition=0)
    finally:
        await producer.stop()

    worker = StateWorker(kafka_bootstrap, WorkerConfig(
        group=f"pa-{run}", topics=[source], changelog=changelog, data_dir=tmp_path / "w", url="http://w",
        partitions=PARTITIONS, max_records=7, pipelined=True, commit_interval_ms=0), After(out))
    await worker.start()
    with pytest.raises(Exception, match="(?i)too ?large|size"):
        await asyncio.wait_for(worker.run(), 60)

    reader = AIOKafkaConsumer(bootstrap_servers=kafka_bootstrap, group_id=f"pa-{run}", enable_auto_commit=False)
    await reader.start()
    try:
        committed = await reader.committed(TopicPartition(source, 0)) or 0
    finally:
        await reader.stop()
    assert committed <= big.offset, f"committed to {committed}, past the batch of offset {big.offset}"
    delivered = await _values(kafka_bootstrap, out)
    assert delivered[:committed] == [f"v{i}".encode() for i in range(committed)], "a committed batch owes outputs"
    restored = Stores(tmp_path / "w")
    try:
        assert restored.open(0).get(b"last:k") in {b"big", *(f"v{i}".encode() for i in range(50, 60))}, \
            "the state of the batch whose outputs failed is kept"
    finally:
        restored.close_all()


async def _values(bootstrap: str, topic: str) -> list[bytes]:
    reader = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await reader.start()
    try:
        tps = [TopicPartition(topic, p) for p in range(PARTITIONS)]
        reader.assign(tps)
        await reader.seek_to_beginning(*tps)
        ends = await reader.end_offsets(tps)
        values: list[bytes] = []
        while [tp for tp in tps if await reader.position(tp) < ends[tp]]:
            for records in (await reader.getmany(timeout_ms=500)).values():
                values.extend(r.value for r in records)
        return values
    finally:
        await reader.stop()


async def test_what_the_group_committed_past_on_a_hop_topic_is_deleted_and_nothing_else(kafka_bootstrap,
                                                                                          tmp_path: Path):
    """A service's own hop topics keep every record until processed (retention -1) and are purged
    behind the commits; the output topic, not purged, keeps everything."""
    run = uuid.uuid4().hex[:8]
    hop, output, changelog = f"hp-{run}-hop", f"hp-{run}-out", f"hp-{run}-changelog"
    await ensure_topics(kafka_bootstrap, [_spec(hop), _spec(output), _spec(changelog, "compact")])
    ends = await _produce(kafka_bootstrap, hop, 10)
    worker = StateWorker(kafka_bootstrap, WorkerConfig(
        group=f"hp-{run}", topics=[hop], changelog=changelog, data_dir=tmp_path / "w", url="http://w",
        partitions=PARTITIONS, max_records=50, purged=frozenset({hop}), purge_interval_s=0.0), Relay(output))
    starts: dict[int, int] = {}

    async def log_starts(topic: str) -> dict[int, int]:
        consumer = AIOKafkaConsumer(bootstrap_servers=kafka_bootstrap)
        await consumer.start()
        try:
            found = await consumer.beginning_offsets([TopicPartition(topic, p) for p in range(PARTITIONS)])
            return {tp.partition: offset for tp, offset in found.items()}
        finally:
            await consumer.stop()

    await worker.start()
    task = asyncio.create_task(worker.run())
    try:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 90
        while starts != ends:  # the last commits' purge comes after them, in the background
            assert not task.done(), task.exception() if task.done() else None
            assert loop.time() < deadline, f"log starts {starts}, committed ends {ends}"
            await asyncio.sleep(0.3)
            starts = await log_starts(hop)
    finally:
        worker.stop_soon()
        await asyncio.wait_for(task, 30)
    assert worker.purger.purges >= 1
    assert await log_starts(output) == {p: 0 for p in range(PARTITIONS)}


async def test_a_purge_that_fails_is_logged_and_kept_for_the_next(kafka_bootstrap, caplog):
    missing = TopicPartition(f"hp-{uuid.uuid4().hex[:8]}-missing", 0)
    purger = HopPurger(kafka_bootstrap, {missing.topic}, interval_s=0.0)
    try:
        purger.committed({missing: 5, TopicPartition("other", 0): 9})  # only the purged topics count
        await purger.settled()
        assert purger.purges == 0 and purger.pending == {missing: 5}
        assert f"purging processed records of {missing.topic} failed" in caplog.text
    finally:
        await purger.close()


async def test_a_transactional_topic_is_committed_past_its_commit_markers(kafka_bootstrap, tmp_path: Path):
    """A city's transactional producer ends each transaction with a commit marker, which takes an
    offset and is never returned as a record: a group committing `last record + 1` would stay one
    behind the end forever (the lag monitor: lag 1, then STOP), while idle and fully caught up."""
    run = uuid.uuid4().hex[:8]
    source, output, changelog = f"tx-{run}-in", f"tx-{run}-out", f"tx-{run}-changelog"
    await ensure_topics(kafka_bootstrap, [_spec(source), _spec(output), _spec(changelog, "compact")])
    producer = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap, transactional_id=f"tx-{run}")
    await producer.start()
    try:
        for i in range(3):  # three transactions, each on every partition
            async with producer.transaction():
                for k in range(KEYS):
                    key = f"k{k}".encode()
                    await producer.send(source, f"{k}:{i}".encode(), key=key, partition=partition_of(key, PARTITIONS))
    finally:
        await producer.stop()
    probe = AIOKafkaConsumer(bootstrap_servers=kafka_bootstrap)
    await probe.start()
    try:
        ends = {tp.partition: end for tp, end in (await probe.end_offsets(
            [TopicPartition(source, p) for p in range(PARTITIONS)])).items()}
    finally:
        await probe.stop()
    per_partition = defaultdict(int)
    for k in range(KEYS):
        per_partition[partition_of(f"k{k}".encode(), PARTITIONS)] += 3
    assert ends == {p: per_partition[p] + 3 for p in range(PARTITIONS)}  # premise: a marker per transaction
    worker = StateWorker(kafka_bootstrap, WorkerConfig(
        group=f"tx-{run}", topics=[source], changelog=changelog, data_dir=tmp_path / "w", url="http://w",
        partitions=PARTITIONS, max_records=7), Relay(output))
    await _run_until_caught_up(worker, source, ends)


async def test_a_store_ahead_of_its_changelog_stops_the_worker_naming_both(kafka_bootstrap, tmp_path: Path,
                                                                          caplog: pytest.LogCaptureFixture):
    """The changelog deleted (and created again) while the worker was down: the store has state the
    changelog no longer holds. Going on would leave it in this store alone (a worker restoring from
    the changelog would miss it); the worker stops and says what to do, in one line naming every
    partition concerned (it named partition 0 alone, after a traceback)."""
    run = uuid.uuid4().hex[:8]
    source, output, changelog = f"cl-{run}-in", f"cl-{run}-out", f"cl-{run}-changelog"
    await ensure_topics(kafka_bootstrap, [_spec(source), _spec(output), _spec(changelog, "compact")])
    ends = await _produce(kafka_bootstrap, source, 3)
    assert len(ends) > 1, ends  # premise: state on more than one partition

    def worker() -> StateWorker:
        return StateWorker(kafka_bootstrap, WorkerConfig(
            group=f"cl-{run}", topics=[source], changelog=changelog, data_dir=tmp_path / "w", url="http://w",
            partitions=PARTITIONS), Relay(output))

    await _run_until_caught_up(worker(), source, ends)
    admin = AIOKafkaAdminClient(bootstrap_servers=kafka_bootstrap)
    await admin.start()
    try:
        await admin.delete_topics([changelog])
        while changelog in await admin.list_topics():
            await asyncio.sleep(0.1)
    finally:
        await admin.close()
    await ensure_topics(kafka_bootstrap, [_spec(changelog, "compact")])  # as a service's start does

    again = worker()
    await again.start()
    with pytest.raises(AssignmentFailed, match="the changelog was deleted or truncated") as failed:
        await asyncio.wait_for(again.run(), 60)
    for partition in ends:
        assert f"partition {partition} ends at offset 0" in str(failed.value), failed.value
    assert "\n" not in str(failed.value)
    assert "restoring partitions failed" in caplog.text  # when it happens, without a traceback:
    assert [r for r in caplog.records if r.exc_info] == [], caplog.text
