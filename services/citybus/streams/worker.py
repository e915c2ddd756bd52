"""A stateful stream worker on plain aiokafka: consumer group, partition stores, changelog, commits.

Why not Faust here: see README, "Why the aggregation does not run on Faust". In short, Faust
0.15.3 acknowledges events it skips while a rebalance's table recovery has flow control
suspended, commits past them, and some persons come out short; and its per-event path caps a
worker at a few thousand events per second. This module does the few things a stateful
processor needs, in an order that makes "at least once, nothing lost" hold:

One batch (everything `getmany` returned), under the worker's lock:

1. the processor reads state from the partition stores, decides, and `send`s its outputs
   (summaries, statements, dead letters, re-keyed events) -- then every send is awaited until
   the broker has it (acks=all, idempotent producer);
2. the state the batch changed goes to the changelog topic (same partition number as the
   input), awaited too;
3. each partition's store takes the batch's values and positions in one RocksDB write batch;
4. the input offsets are committed: at most every `commit_interval_ms` (and when idle, at a
   revocation and at stop), with the offsets of every batch done since the last commit.

A crash before 2 replays the batch against the old state, and the outputs are made again
(duplicates, never gaps; an output the replay may decide otherwise, because its batch now holds
more, is read back at the next assignment from a `recovered` topic before any event is applied).
A crash after 2 finds the new state in the changelog, whose records are only written once every
output of their batch is on the broker. The rules downstream are
idempotent (latest revision wins, a redelivered event changes nothing), so replays are harmless.

Partitions move only at a rebalance. The revocation waits for the lock (the batch in flight
finishes and commits); an assigned partition is restored before any of its events is applied:
its store catches up with the changelog from the position it last wrote, which is all of it
on an empty disk. Topics that are their own log (`self_logged`, e.g. a compacted index) are
re-read from the store's position instead of the committed offset. A partition that cannot be
restored (the broker gone, a store that does not open) stops the worker with `AssignmentFailed`:
aiokafka only logs what a rebalance listener raises, and the partitions would stay assigned
and never processed.

A processor that acts on time (deadlines) implements `tick`; the worker calls it every
`tick_interval` seconds under the same lock, and settles what it sent and changed in steps 1-3.
A decision made on the clock is not replayed like one made on an event, so two rules keep a
crash from acting on a decision that is then made differently:

- ticks run on a partition only once the worker has caught up with every input record that
  was on it when the partition was assigned (`ticking`): after a crash, the events whose
  outputs may already be out are decided again before any deadline can overtake them;
- outputs a processor files with `Batch.send_after` (the commands a deadline decided, a saga's
  status changes) are sent only after the state holding the decision is in the changelog and
  the store; a crash in between loses them, never the decision, which is acted on again: a
  deadline's by the deadline the state holds (a status it changed is marked unannounced), an
  event's by the event, read again because its offsets are committed only once they are
  delivered.

`pipelined` (for latency: the migration saga) lets steps 1-4 of a batch run while the next
batch is decided: batches still settle one after the other and in order, at most one is
between steps 1 and 3 at a time; its `send_after` outputs are then delivered and its offsets
committed in a chain of their own (in order, each batch's after the one before it), so that
round trip overlaps the next batch's steps 1-3. A revocation, a tick or a stop waits for all
of it. The processor keeps what the unsettled batch changed readable (cached) until it
settles. A crash replays from the last commit as before; the next batch's outputs may then
be made twice, never lost.
"""
from __future__ import annotations

import asyncio
import logging
import signal
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeGuard

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRebalanceListener, TopicPartition
from aiokafka.structs import ConsumerRecord

from citybus.errors import CitybusError
from citybus.kafka.closing import configured_stop_timeout, finish_within, stop_consumer, stop_producer
from citybus.kafka.commits import COMMIT_INTERVAL_S, PacedCommits
from citybus.kafka.fetching import lighten
from citybus.kafka.outbox import Outbox
from citybus.kafka.purge import PURGE_INTERVAL_S, HopPurger
from citybus.streams.assignor import Owners, routing_assignor
from citybus.streams.batch import Batch, Processor, Recovering, Ticking, partition_of, remembered_partitioner
from citybus.streams.restore import read_outputs, restore_changelog
from citybus.streams.store import Stores

__all__ = ["AssignmentFailed", "StateWorker", "WorkerConfig"]

log = logging.getLogger(__name__)

@dataclass
class WorkerConfig:
    group: str
    topics: list[str]
    changelog: str
    data_dir: Path
    url: str
    partitions: int = 6
    self_logged: frozenset[str] = frozenset()
    # the service's own hop topics: what the group committed past is deleted (citybus.kafka.purge)
    purged: frozenset[str] = frozenset()
    purge_interval_s: float = PURGE_INTERVAL_S
    max_records: int = 20000
    poll_ms: int = 50
    session_timeout_ms: int = 15000
    heartbeat_interval_ms: int = 3000
    # producer linger; consumer fetch: a fetch returns once it has `fetch_min_bytes` or waited
    # `fetch_max_wait_ms` (None: poll_ms)
    linger_ms: int = 5
    fetch_min_bytes: int = 1
    # a fetch answer is read into one buffer and copied once: 8 MiB answers (1 MiB per partition)
    # keep it in memory the allocator reuses; 64 MiB ones cost page faults and 130 MB more peak
    # memory for no gain in rate (measured on the bench's 1M events)
    fetch_max_bytes: int = 8 * 1024 * 1024
    max_partition_fetch_bytes: int = 1024 * 1024
    fetch_max_wait_ms: int | None = None
    # seconds between a Ticking processor's ticks (None: no ticks)
    tick_interval: float | None = None
    # settle a batch (outputs acknowledged, changelog, stores, commit) while the next one is
    # processed; at most one batch is unsettled, so the processor must keep what it changed in
    # the last batch readable (e.g. cached) until the next batch is done
    pipelined: bool = False
    # input offsets are committed at most this often (a crash replays at most this much more)
    commit_interval_ms: int = round(COMMIT_INTERVAL_S * 1000)
    # at a stop, the batch in flight and the last commit get this long (the broker may be gone):
    # past it they are abandoned, and replayed at the next start (default: CITYBUS_STOP_TIMEOUT)
    stop_timeout_s: float = field(default_factory=configured_stop_timeout)
    # output topics keyed like the state (a record in the partition of the state that made it) whose
    # records are also the processor's memory: a crash after the outputs, before the changelog, leaves
    # them ahead of the state. Each store notes where its batches' records on them end; at an
    # assignment what lies past that goes to the processor's `recover` before any event is applied
    recovered: frozenset[str] = frozenset()


class AssignmentFailed(CitybusError):
    """Partitions assigned to the worker could not be restored: it stopped (restart it)."""

    reason_code = "ASSIGNMENT_FAILED"


def _is_ticking(processor: Processor) -> TypeGuard[Ticking]:
    return hasattr(processor, "tick")


def _is_recovering(processor: Processor) -> TypeGuard[Recovering]:
    return hasattr(processor, "recover")


class StateWorker:
    def __init__(self, bootstrap: str, config: WorkerConfig, processor: Processor) -> None:
        self.bootstrap = bootstrap
        self.config = config
        self.processor = processor
        self.stores = Stores(config.data_dir)
        self.owners = Owners()
        self.ready: set[int] = set()  # partitions restored and being processed here
        # input partitions not yet read up to their end offset at assignment -> that offset;
        # `ticking` are the ready partitions with none left
        self._catching_up: dict[TopicPartition, int] = {}
        self.ticking: set[int] = set()
        self._generation = 0  # rebalances seen (assignments and revocations)
        self._read_to: dict[TopicPartition, int] = {}  # per input partition, the offset committed up to
        self._markers_checked = 0.0  # when idle positions were last compared with `_read_to`
        self.events = 0
        self.batches = 0
        self.restored_records = 0
        self._lock = asyncio.Lock()
        self._stopping = asyncio.Event()
        self._assigned_once = asyncio.Event()
        self.failure: BaseException | None = None  # why an assignment failed (the worker stops)
        # pipelined: the batch whose outputs, changelog and stores are settling -> its `send_after`
        # outbox and offsets; then the chain delivering those and committing, in order
        self._settling: asyncio.Task[tuple[Outbox | None, dict[TopicPartition, int]]] | None = None
        self._delivering: asyncio.Task[None] | None = None
        self._stop_deadline: float | None = None  # (loop time) when a stop abandons the last commit
        self.commits = PacedCommits(self._commit, config.commit_interval_ms / 1000)
        self.purger = HopPurger(bootstrap, config.purged, config.purge_interval_s)
        self.consumer: AIOKafkaConsumer | None = None
        self.producer: AIOKafkaProducer | None = None

    # ---- lifecycle -------------------------------------------------------------------------
    async def start(self) -> None:
        self.stores.lock()
        self.producer = AIOKafkaProducer(
            bootstrap_servers=self.bootstrap, acks="all", enable_idempotence=True, linger_ms=self.config.linger_ms,
            max_batch_size=1024 * 1024, max_request_size=8 * 1024 * 1024,
            # aiokafka's murmur2 is pure Python: a summary's key would be hashed again per send
            partitioner=remembered_partitioner)
        await self.producer.start()
        self.consumer = AIOKafkaConsumer(
            bootstrap_servers=self.bootstrap, group_id=self.config.group, enable_auto_commit=False,
            auto_offset_reset="earliest", isolation_level="read_uncommitted",
            partition_assignment_strategy=(routing_assignor(self.config.url, self.owners),),
            session_timeout_ms=self.config.session_timeout_ms,
            heartbeat_interval_ms=self.config.heartbeat_interval_ms,
            max_poll_interval_ms=600_000, fetch_max_bytes=self.config.fetch_max_bytes,
            max_partition_fetch_bytes=self.config.max_partition_fetch_bytes, fetch_min_bytes=self.config.fetch_min_bytes,
            fetch_max_wait_ms=self.config.poll_ms if self.config.fetch_max_wait_ms is None
            else self.config.fetch_max_wait_ms)
        await self.consumer.start()
        lighten(self.consumer)  # before it subscribes: every fetch makes light records
        self.consumer.subscribe(self.config.topics, listener=_Listener(self))

    @property
    def _acts_on_time(self) -> bool:
        return self.config.tick_interval is not None and _is_ticking(self.processor)

    def stop_soon(self) -> None:
        if self._stop_deadline is None:
            self._stop_deadline = asyncio.get_running_loop().time() + self.config.stop_timeout_s
        self._stopping.set()

    def fail(self, exc: BaseException) -> None:
        """An assignment failed: stop, and `run` raises AssignmentFailed."""
        self.failure = exc
        self.stop_soon()

    def install_signal_handlers(self) -> None:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, self.stop_soon)

    async def run(self) -> None:
        """Until `stop_soon`: fetch, process, commit. Stops cleanly (last batch committed, group
        left), in bounded time: the batch in flight and the last commit get `stop_timeout_s`
        (with the broker gone they never end; abandoned, they are replayed at the next start)."""
        assert self.consumer is not None
        ticker = None
        interval = self.config.tick_interval
        if interval is not None and _is_ticking(self.processor):  # _acts_on_time, narrowed for mypy
            ticker = asyncio.create_task(self._ticks(interval, self.processor))
        try:
            if not await finish_within(self._until_stopped(ticker), self._stopping, self.config.stop_timeout_s):
                log.warning("the batch in flight did not settle within %gs of the stop (broker unreachable?); "
                            "it is replayed at the next start", self.config.stop_timeout_s)
        finally:
            if ticker is not None:
                ticker.cancel()
            await self.close()
        if isinstance(self.failure, CitybusError):  # says what to do: a restart alone changes nothing
            raise AssignmentFailed(f"partitions could not be restored: {self.failure}; the worker stopped") \
                from self.failure
        if self.failure is not None:
            raise AssignmentFailed(f"partitions could not be restored ({self.failure}); the worker stopped, "
                                   "restart it") from self.failure

    async def _until_stopped(self, ticker: asyncio.Task | None) -> None:
        assert self.consumer is not None
        while not self._stopping.is_set():
            fetched = await self.consumer.getmany(timeout_ms=self.config.poll_ms, max_records=self.config.max_records)
            if fetched:
                await self._apply(fetched)
            else:
                await self._idle()
            if self._catching_up:
                await self._caught_up()
            if ticker is not None and ticker.done():
                ticker.result()  # a failed tick stops the worker like a failed batch
        await self._commit_last()

    async def _commit_last(self) -> None:
        """The unsettled batch settled and every offset done committed; a failure is logged (the
        batches not committed are replayed at the next start)."""
        async with self._lock:
            try:
                await self._settled()
                await self.commits.flush()
            except Exception as exc:  # noqa: BLE001 - it is replayed after the restart
                log.warning("the last batch was not committed (%r); it is replayed at the next start", exc)

    async def _ticks(self, interval: float, processor: Ticking) -> None:
        while not self._stopping.is_set():
            await asyncio.sleep(interval)
            async with self._lock:
                if not self.ticking or self.producer is None:
                    continue
                await self._settled()
                outbox = self._outbox()
                batch = await processor.tick(frozenset(self.ticking), self.stores, outbox.send)
                await self._settle(batch, outbox, {})

    async def _idle(self) -> None:
        """Nothing fetched: the last batches' offsets are committed once their interval is up, and
        positions that moved past transaction markers alone are committed too."""
        generation, moved = self._generation, await self._past_markers()
        async with self._lock:
            await self._settled()
            if moved and generation == self._generation:
                self._read_to.update(moved)
                await self.commits.done(moved)
            await self.commits.flush_if_due()

    async def _past_markers(self) -> dict[TopicPartition, int]:
        """Where the consumer stands on input partitions whose position is past what was committed:
        after a transactional producer's records comes its commit marker, which takes an offset and
        is never returned, so `last record + 1` would stay one behind the end (the lag monitor would
        show 1, then a stalled group). Idle, the position is past everything returned (records and
        markers); read outside the lock (a rebalance may need it), once a second at most."""
        assert self.consumer is not None
        now = time.monotonic()
        if now - self._markers_checked < 1.0:
            return {}
        self._markers_checked = now
        positions = await self._positions([tp for tp in self.consumer.assignment() if tp.partition in self.ready])
        return {tp: position for tp, position in positions.items() if position > self._read_to.get(tp, -1)}

    async def _positions(self, tps: Iterable[TopicPartition]) -> dict[TopicPartition, int]:
        """The consumer's positions, read outside the lock (a rebalance may need it); a partition
        whose position is not known within 0.2 s (or no longer assigned) is left out."""
        assert self.consumer is not None
        tps = list(tps)
        found = await asyncio.gather(
            *(asyncio.wait_for(self.consumer.position(tp), 0.2) for tp in tps), return_exceptions=True)
        return {tp: position for tp, position in zip(tps, found) if isinstance(position, int)}

    async def _caught_up(self) -> None:
        """Move the partitions whose inputs have all been read up to their end at assignment to
        `ticking`. Runs between batches, so every record before a position is processed; reads
        positions outside the lock (a rebalance may need it) and drops the round if one came."""
        assert self.consumer is not None
        generation, pending = self._generation, dict(self._catching_up)
        positions = await self._positions(pending)
        async with self._lock:
            if generation != self._generation:
                return
            for tp, position in positions.items():
                if position >= pending[tp]:
                    self._catching_up.pop(tp, None)
            behind = {tp.partition for tp in self._catching_up}
            self.ticking = {p for p in self.ready if p not in behind}

    async def close(self) -> None:
        """The last commit (if `run` did not make it) within what is left of `stop_timeout_s`, the
        clients stopped within their own limit (citybus.kafka.closing), the stores closed and the
        data directory released, whether the broker answers or not."""
        loop = asyncio.get_running_loop()
        if self._stop_deadline is None:
            self._stop_deadline = loop.time() + self.config.stop_timeout_s
        left = self._stop_deadline - loop.time()
        if (self._settling is not None or self._delivering is not None or self.commits.pending) \
                and self.consumer is not None:
            try:
                await asyncio.wait_for(self._commit_last(), max(left, 0.0))
            except asyncio.TimeoutError:
                log.warning("the last commit was not made within %gs of the stop (broker unreachable?); "
                            "the batches since the one before are replayed at the next start",
                            self.config.stop_timeout_s)
        abandoned = [t for t in (self._settling, self._delivering) if t is not None]  # replayed
        self._settling = self._delivering = None
        for task in abandoned:
            task.cancel()
        await asyncio.gather(*abandoned, return_exceptions=True)
        # the consumer (it leaves the group) and the purger's admin client side by side, then the
        # producer: each within its own limit, so a stop without a broker takes at most the
        # batch's limit and two clients' (about 22 s by default)
        closing = [self.purger.close()]
        if self.consumer is not None:
            consumer, self.consumer = self.consumer, None
            closing.append(stop_consumer(consumer))
        await asyncio.gather(*closing)
        if self.producer is not None:
            producer, self.producer = self.producer, None
            await stop_producer(producer)
        self.stores.close_all()
        self.stores.unlock()

    # ---- a batch ---------------------------------------------------------------------------
    async def _apply(self, fetched: dict[TopicPartition, list[ConsumerRecord]]) -> None:
        async with self._lock:
            assert self.consumer is not None and self.producer is not None
            assigned = self.consumer.assignment()
            # a partition revoked between the fetch and the lock is someone else's now
            fetched = {tp: rs for tp, rs in fetched.items() if rs and tp in assigned and tp.partition in self.ready}
            if not fetched:
                return
            records = [r for rs in fetched.values() for r in rs]
            outbox = self._outbox()
            batch = await self.processor.process(records, self.stores, outbox.send)
            await outbox.submit()  # this batch's outputs go before the next one's
            logged: dict[int, dict[str, int]] = {}
            for tp, rs in fetched.items():
                if tp.topic in self.config.self_logged:
                    logged.setdefault(tp.partition, {})[tp.topic] = rs[-1].offset + 1
            offsets = {tp: rs[-1].offset + 1 for tp, rs in fetched.items()}
            self._read_to.update(offsets)
            self.events += len(records)
            self.batches += 1
            if not self.config.pipelined:
                await self._settle(batch, outbox, logged)  # 1.-3.
                await self.commits.done(offsets)  # 4.
                return
            # the previous batch's state is kept (in order) before this one's is written
            await self._state_settled()
            self._settling = asyncio.create_task(self._settle_state(batch, outbox, logged, offsets))

    async def _state_settled(self) -> None:
        """Wait for the batch settling, if any, up to its stores; what it files to send after them
        is delivered, then its offsets committed, in a chain after the batches before it (so
        the next batch's steps 1-3 need not wait for that round trip). A failure of either is
        raised here, and stops the worker."""
        task, self._settling = self._settling, None
        if task is None:
            return
        after, offsets = await task  # on a failure `close` still finds the chain in `_delivering`
        delivering = self._delivering
        if delivering is not None and delivering.done():
            delivering.result()
            delivering = None
        self._delivering = asyncio.create_task(self._deliver(delivering, after, offsets))

    async def _settled(self) -> None:
        """Wait for every unsettled batch: settled, delivered, committed (a failure is raised
        here, and stops the worker)."""
        await self._state_settled()
        task, self._delivering = self._delivering, None
        if task is not None:
            await task

    async def _settle_state(self, batch: Batch, outbox: Outbox | None, logged: dict[int, dict[str, int]],
                            offsets: dict[TopicPartition, int]) -> tuple[Outbox | None, dict[TopicPartition, int]]:
        return await self._keep_state(batch, outbox, logged), offsets

    async def _deliver(self, before: asyncio.Task[None] | None, after: Outbox | None,
                       offsets: dict[TopicPartition, int]) -> None:
        if before is not None:
            await before  # commits in order; a failure before this one is this one's
        if after is not None:
            await after.flush()
        await self.commits.done(offsets)

    async def _commit(self, offsets: dict[TopicPartition, int]) -> None:
        assert self.consumer is not None
        await self.consumer.commit(offsets)  # 4. the input (a refusal is logged by PacedCommits)
        self.purger.committed(offsets)  # processed hop records can go

    def _outbox(self) -> Outbox:
        assert self.producer is not None
        return Outbox(self.producer)

    async def _settle(self, batch: Batch, outbox: Outbox | None, logged: dict[int, dict[str, int]]) -> None:
        """Steps 1-3 of a batch (or a tick), then the outputs to send after the state delivered."""
        after = await self._keep_state(batch, outbox, logged)
        if after is not None:
            await after.flush()

    async def _keep_state(self, batch: Batch, outbox: Outbox | None,
                          logged: dict[int, dict[str, int]]) -> Outbox | None:
        """Steps 1-3: outputs acknowledged, then the changelog, then the stores; then the outputs
        to send after the state handed to the producer (the outbox returned, to flush)."""
        delivered = await outbox.flush() if outbox is not None else []  # 1. every output is on the broker
        positions = await self._changelog(batch)  # 2. then the state
        for partition, topics in logged.items():
            positions.setdefault(partition, {}).update(topics)
        for sent in delivered if self.config.recovered else ():  # where the recovered outputs end
            if sent.topic in self.config.recovered:
                noted = positions.setdefault(sent.partition, {})
                noted[sent.topic] = max(noted.get(sent.topic, 0), sent.end)
        for partition in set(batch.state) | set(batch.local) | set(positions):  # 3. the stores
            values = {**batch.local.get(partition, {}), **batch.state.get(partition, {})}
            self.stores[partition].write(values, positions.get(partition))
        if not batch.after:
            return None
        after = self._outbox()
        for topic, key, value, headers, where in batch.after:
            await after.send(topic, key, value, headers, where)
        await after.submit()
        return after

    async def _changelog(self, batch: Batch) -> dict[int, dict[str, int]]:
        changelog = self.config.changelog
        outbox = self._outbox()
        for partition, values in batch.state.items():
            for key, value in values.items():
                await outbox.send(changelog, key, value, (), partition)
        positions: dict[int, dict[str, int]] = {}
        for sent in await outbox.flush():
            current = positions.setdefault(sent.partition, {}).get(changelog, -1)
            positions[sent.partition][changelog] = max(current, sent.end)
        return positions

    # ---- rebalances ------------------------------------------------------------------------
    async def on_revoked(self, revoked: set[TopicPartition]) -> None:
        async with self._lock:  # the batch in flight has finished and committed
            await self._settled()
            await self.commits.flush()
            self._generation += 1
            numbers = {tp.partition for tp in revoked}
            for partition in numbers:
                self.ready.discard(partition)
                self.ticking.discard(partition)
                self.stores.close(partition)
            self._catching_up = {tp: end for tp, end in self._catching_up.items() if tp not in revoked}
            for tp in revoked:
                self._read_to.pop(tp, None)
            self.processor.forget(numbers)
            if numbers:
                log.info("partitions revoked: %s", sorted(numbers))

    async def on_assigned(self, assigned: set[TopicPartition]) -> None:
        async with self._lock:
            assert self.consumer is not None
            await self._settled()
            self._generation += 1
            numbers = {tp.partition for tp in assigned}
            began = time.perf_counter()
            restored = await restore_changelog(self.bootstrap, self.config.changelog, self.stores,
                                               sorted(numbers))
            self.restored_records += restored
            for tp in assigned:
                if tp.topic in self.config.self_logged:
                    self.consumer.seek(tp, self.stores[tp.partition].position(tp.topic))
            if assigned and self._acts_on_time:  # no tick there before everything already on these partitions is read
                self._catching_up.update(await self.consumer.end_offsets(list(assigned)))
            self.processor.forget(numbers)
            if self.config.recovered and _is_recovering(self.processor):
                await self._recover(self.processor, sorted(numbers))
            self.ready |= numbers
            self._assigned_once.set()
            log.info("partitions assigned: %s; %d changelog records restored in %.2fs",
                     sorted(numbers), restored, time.perf_counter() - began)

    async def _recover(self, processor: Recovering, partitions: list[int]) -> None:
        """The recovered outputs past the stores' positions go to the processor, a fetch at a time;
        each of its batches settles (outputs, changelog, stores) before any event is applied, then
        the stores note the positions read to."""
        found = 0

        async def handle(records: list[ConsumerRecord]) -> None:
            nonlocal found
            found += len(records)
            outbox = self._outbox()
            await self._settle(await processor.recover(records, self.stores, outbox.send), outbox, {})

        read = await read_outputs(self.bootstrap, self.config.recovered, self.stores, partitions, handle)
        await self._settle(Batch(), None, read)
        if found:
            log.info("%d records of %s found past the stores' positions", found,
                     ", ".join(sorted(self.config.recovered)))

    # ---- for the web side ------------------------------------------------------------------
    def partition_of(self, key: bytes) -> int:
        return partition_of(key, self.config.partitions)

    def owner_url(self, partition: int) -> str | None:
        return self.owners.url(partition)

    async def wait_assigned(self, timeout: float | None = None) -> None:
        await asyncio.wait_for(self._assigned_once.wait(), timeout)


class _Listener(ConsumerRebalanceListener):
    def __init__(self, worker: StateWorker) -> None:
        self.worker = worker

    async def on_partitions_revoked(self, revoked: Any) -> None:
        await self.worker.on_revoked(set(revoked))

    async def on_partitions_assigned(self, assigned: Any) -> None:
        try:
            await self.worker.on_assigned(set(assigned))
        except CitybusError as exc:  # said in full, once, by the AssignmentFailed `run` raises
            log.error("restoring partitions failed; the worker stops")
            self.worker.fail(exc)  # not raised: aiokafka would only log it again
        except Exception as exc:  # unforeseen: its traceback is what there is to read
            log.exception("restoring partitions failed; the worker stops and can be restarted")
            self.worker.fail(exc)
