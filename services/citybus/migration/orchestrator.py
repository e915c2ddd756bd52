"""The migration orchestrator's batch and tick: decode -> saga domain -> sends -> state.

Runs on the stateful worker of citybus.streams (`StateWorker`), which sends, changelogs, stores
and commits in the order that makes a crash harmless; this module only decides.

Inputs (consumer group `citybus-migration`, 6 co-partitioned partitions):

- `bus.migration.requests`, every city's `replies` and `household.moves`, all keyed by
  subject_id: one subject's events arrive in order on the partition that holds its value;
- `INDEX_TOPIC` (compacted, keyed by migration_id, its own log): migration_id -> subject_id,
  written once per saga when its request is admitted, stored in the partition of the
  migration_id, so HTTP finds the subject (and so the saga) of any id.

State in the partition stores: `G` + subject_id -> `SubjectSagas` bytes (that subject's sagas
and the scopes they hold; changelogged), `I` + migration_id -> subject_id (from the index topic).
The HTTP view of a saga is rendered from the saga itself: no view records.

Deadlines live in the saga values; `DeadlineIndex` (in memory, rebuilt from the stores whenever
the partitions that tick change) tells `tick` which subjects are due, and `tick` feeds their
expiries to the saga under the worker's lock. A deadline is not an input that a restart replays,
so its decision is kept before it is acted on: the statuses are acknowledged, the state
changelogged and stored, and only then the commands sent (`Batch.send_after`); and the worker
ticks a partition only once it has re-read every input already there when it was assigned, so an
event whose commands went out before a crash is decided again before its deadline can be.
"""
from __future__ import annotations

import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from typing import Any

from aiokafka.structs import ConsumerRecord

from citybus.bus import DeadLetterSink, Intake, Rejection
from citybus.domain.migration import (
    HOUSEHOLD_MOVE_REQUESTER,
    MigrationRequested,
    SagaPolicy,
    SagaState,
    SendCommand,
)
from citybus.migration.deadlines import DeadlineIndex
from citybus.migration.subjects import Outcome, SubjectSagas
from citybus.migration.wire import INDEX_TOPIC, index_out, outbound, request_out
from citybus.streams.store import Stores
from citybus.streams.worker import Batch, Send, partition_of

__all__ = ["Orchestrator", "SAGAS", "INDEX", "now_ms"]

SAGAS, INDEX = b"G", b"I"
PENDING_MS = 30_000  # how long a POSTed id counts as known without its index record in the store
_CACHE = 50_000  # subjects kept decoded


def now_ms() -> int:
    return time.time_ns() // 1_000_000


class Orchestrator:
    def __init__(self, *, intake: Intake, policy: SagaPolicy, service: str, partitions: int = 6,
                 clock: Any = now_ms) -> None:
        self.intake = intake
        self.partitions = partitions  # of every topic it writes (the catalog's rule)
        self.policy = policy
        self.service = service
        self.clock = clock
        self.deadlines = DeadlineIndex(retick_ms=max(200, (policy.working_day_ms or 1000) * 2))
        self._ticking: frozenset[int] = frozenset()  # the partitions the deadline index was built for
        # subject key -> its value as last written here (the stores stay the truth: cleared
        # whenever partitions move)
        self._subjects: dict[bytes, SubjectSagas] = {}
        self._last_touched: set[bytes] = set()  # the previous batch's, maybe not stored yet (pipelined)
        self.pending: dict[str, int] = {}  # migration_id -> when POSTed here, for PENDING_MS
        self.events = self.rejected = self.commands = self.ticks = 0

    # ---- the worker's hooks ------------------------------------------------------------------
    def forget(self, partitions: Iterable[int] = ()) -> None:
        self._subjects.clear()
        self.deadlines.forget()

    async def process(self, records: Sequence[ConsumerRecord], stores: Stores, send: Send) -> Batch:
        batch = Batch()
        sink = DeadLetterSink(send, self.service)
        touched: dict[bytes, int] = {}  # subject key -> partition, written once per batch
        for record in records:
            if record.topic == INDEX_TOPIC:
                if record.key and record.value is not None:
                    # (a POSTed id stays pending until it expires: the index is stored only when
                    # this batch settles, and HTTP must know the id all along)
                    batch.put_local(record.partition, INDEX + record.key, record.value)
                continue
            self.events += 1
            outcome = await self._event(record, stores, send, sink)
            if outcome is None:
                continue
            key = outcome.subject.subject_id.encode()
            if outcome.changed:
                self._subjects[key] = outcome.subject
                touched[key] = record.partition
            self.deadlines.track(outcome.subject.subject_id, record.partition, outcome.subject.next_deadline())
            await self._send_outcome(outcome, send)
        for key, partition in touched.items():
            batch.put(partition, SAGAS + key, self._subjects[key].to_bytes())
        if len(self._subjects) > _CACHE:  # keep what the stores may not have yet
            keep = self._last_touched | touched.keys()
            self._subjects = {k: v for k, v in self._subjects.items() if k in keep}
        self._last_touched = set(touched)
        return batch

    async def tick(self, ready: frozenset[int], stores: Stores, send: Send) -> Batch:
        """Fire every deadline due now on the partitions this worker owns."""
        batch = Batch()
        if self.deadlines.stale or ready != self._ticking:
            self.deadlines.rebuild(self._deadlines_in(ready, stores))
            self._ticking = ready
        now = self.clock()
        for subject_id, partition in self.deadlines.due(now):
            if partition not in ready:
                continue
            key = subject_id.encode()
            subject = self._load(key, subject_id, partition, stores)
            outcome = subject.on_tick(now, self.policy)
            self.ticks += 1
            if outcome.changed:
                self._subjects[key] = outcome.subject
                batch.put(partition, SAGAS + key, outcome.subject.to_bytes())
                self.deadlines.track(subject_id, partition, outcome.subject.next_deadline())
            await self._send_outcome(outcome, send, after=batch)
        if now - min(self.pending.values(), default=now) > PENDING_MS:
            self.pending = {m: at for m, at in self.pending.items() if now - at < PENDING_MS}
        return batch

    # ---- one event ---------------------------------------------------------------------------
    async def _event(self, record: ConsumerRecord, stores: Stores, send: Send, sink: DeadLetterSink) -> Outcome | None:
        checked = self.intake.check(record.topic, record.partition, record.offset, record.key, record.value,
                                    record.headers or ())
        if isinstance(checked, Rejection):
            self.rejected += 1
            await sink.reject(checked)
            return None
        value = checked.value
        if isinstance(value, MigrationRequested):
            if value.requested_by == HOUSEHOLD_MOVE_REQUESTER and record.timestamp > value.requested_at:
                # a zero-click migration is requested when the bus reads the move, not when the
                # household moved: deadlines count from there (the log's time: the same on a replay)
                value = replace(value, requested_at=record.timestamp)
            if record.key != value.subject_id.encode():  # file it under its subject's partition
                await send(*request_out(value))
                return None
            subject = self._load(record.key, value.subject_id, record.partition, stores)
            outcome = subject.on_request(value, self.policy)
            if outcome.changed or value.migration_id in subject.sagas:
                # a new saga (or a redelivered request: its index record again, idempotent)
                await send(*index_out(value.migration_id, value.subject_id))
            return outcome
        if not record.key:
            self.rejected += 1
            await sink.reject(Rejection(record.topic, record.partition, record.offset, None, record.value,
                                        tuple(record.headers or ()), "INVALID_FIELD",
                                        "key: a reply must be keyed by subject_id"))
            return None
        subject = self._load(record.key, record.key.decode(), record.partition, stores)
        return subject.on_reply(value, self.policy)

    async def _send_outcome(self, outcome: Outcome, send: Send, after: Batch | None = None) -> None:
        """Send what the saga decided; with `after`, its commands to cities only once the state is kept."""
        for command in outcome.commands:
            topic, key, value, headers = outbound(command)
            partition = partition_of(key, self.partitions)  # remembered there
            if after is not None and isinstance(command, SendCommand):
                after.send_after(topic, key, value, headers, partition)
            else:
                await send(topic, key, value, headers, partition)
        self.commands += len(outcome.commands)

    # ---- state -------------------------------------------------------------------------------
    def _load(self, key: bytes, subject_id: str, partition: int, stores: Stores) -> SubjectSagas:
        known = self._subjects.get(key)
        if known is not None:
            return known
        subject = SubjectSagas.load(stores[partition].get(SAGAS + key), subject_id, partition)
        self._subjects[key] = subject
        return subject

    @staticmethod
    def _deadlines_in(ready: frozenset[int], stores: Stores) -> list[tuple[str, int, int | None]]:
        entries = []
        for partition in ready:
            store = stores[partition]
            for key in store.keys(SAGAS):
                raw = store.get(key)
                if raw is not None:
                    subject = SubjectSagas.from_bytes(raw)
                    entries.append((subject.subject_id, partition, subject.next_deadline()))
        return entries

    # ---- for HTTP ----------------------------------------------------------------------------
    @staticmethod
    def subject_of(migration_id: str, stores: Stores, partition: int) -> str | None:
        raw = stores[partition].get(INDEX + migration_id.encode())
        return None if raw is None else raw.decode()

    @staticmethod
    def saga(subject_id: str, migration_id: str, stores: Stores, partition: int) -> SagaState | None:
        """The saga as stored (its commands and statuses are on the broker)."""
        raw = stores[partition].get(SAGAS + subject_id.encode())
        if raw is None:
            return None
        return SubjectSagas.from_bytes(raw).sagas.get(migration_id)

    def status(self) -> Mapping[str, Any]:
        return {"events": self.events, "rejected": self.rejected, "commands": self.commands, "ticks": self.ticks,
                "deadlines": len(self.deadlines), "pending": len(self.pending)}
