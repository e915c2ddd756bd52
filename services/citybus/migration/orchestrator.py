"""The migration orchestrator's batch and tick: decode -> saga domain -> sends -> state.

Runs on the stateful worker of citybus.streams (`StateWorker`), which sends, changelogs, stores
and commits in the order that makes a crash harmless; this module only decides.

Inputs (consumer group `citybus-migration`, 6 co-partitioned partitions):

- `bus.migration.requests`, every city's `replies` and `household.moves`, all keyed by
  subject_id: one subject's events arrive in order on the partition that holds its value;
- `CLAIMS_TOPIC` (keyed by migration_id) and `CLAIMED_TOPIC` (keyed by subject_id): the detour
  of a request whose migration_id lives in a partition another worker owns (below).

State in the partition stores, changelogged: `G` + subject_id -> `SubjectSagas` bytes (that
subject's sagas and the scopes they hold), in the subject's partition; `I` + migration_id ->
subject_id (the claim), in the partition of the migration_id, so HTTP finds the subject (and
so the saga) of any id. The HTTP view of a saga is rendered from the saga itself.

A migration_id is claimed once, for one subject ("a request whose migration_id is already known
starts nothing new", whichever subject it names): a new request starts its saga only once the
owner of the id's partition has claimed the id for its subject. When this worker owns that
partition too (always, with one worker) the claim is made in the same batch; otherwise the
request goes to CLAIMS, the id's owner claims it and files it to CLAIMED once the claim is
kept (`Batch.send_after`), and the subject's owner starts the saga from there. A request
whose id is claimed for another subject goes to the dead letters as `MIGRATION_ID_TAKEN`.
A reply about a migration that the subject of its key does not have (keyed by another subject,
never requested, or forgotten) goes there as `UNKNOWN_MIGRATION`; a late or repeated reply to a
migration the subject has is decided by its saga (and changes nothing).

Deadlines live in the saga values; `DeadlineIndex` (in memory, rebuilt from the stores whenever
the partitions that tick change) tells `tick` which subjects are due, and `tick` feeds their
expiries to the saga under the worker's lock. A deadline is not an input that a restart replays,
so its decision is kept before it is acted on: the state is changelogged and stored, and only
then its commands and statuses sent (`Batch.send_after`). A lost command is sent again at its
deadline; a lost status is named in the state (`unannounced`) until a later tick clears it, and
sent again from there when the worker rebuilds its deadlines after a restart; and the worker
ticks a partition only once it has re-read every input already there when it was assigned, so an
event whose commands went out before a crash is decided again before its deadline can be.

A status change goes out after its state whatever decided it, an event too. Sent with the
batch's other outputs, before the state, the statuses of a batch that the broker had written
but not acknowledged when it went away were sent again by the replay after the restart: a
migration's IN_PROGRESS on the bus after its COMPLETED. Now a replay sends only what no kept
state has sent. An event's statuses lost after its state was kept need no mark: the worker
commits a batch's offsets only once what it sent after its state is delivered, so the restarted
worker reads that event again, finds that it changes nothing, and, while the partition is still
catching up, sends the saga's current status (once per migration). Commands still go out
before the state (a city applies a command_id once, and the round trip is the saga's latency).
"""
from __future__ import annotations

import enum
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from typing import Any

from aiokafka.structs import ConsumerRecord

from citybus.bus import DeadLetterSink, Intake, Rejection
from citybus.domain.frozen import evolve
from citybus.domain.ids import validate_enterprise_id, validate_resident_id
from citybus.domain.migration import (
    HOUSEHOLD_MOVE_REQUESTER,
    MigrationRequested,
    PublishStatus,
    ReplyReceived,
    SagaPolicy,
    SagaState,
    status_of,
)
from citybus.errors import ValidationError
from citybus.migration.deadlines import DeadlineIndex
from citybus.migration.subjects import Outcome, SubjectSagas
from citybus.migration.wire import CLAIMED_TOPIC, CLAIMS_TOPIC, forwarded, outbound, request_out
from citybus.streams.origin import ORIGIN_HEADER, origin_of
from citybus.streams.store import Stores
from citybus.streams.batch import Batch, Send, partition_of

__all__ = ["Orchestrator", "SAGAS", "INDEX", "MIGRATION_ID_TAKEN", "UNKNOWN_MIGRATION", "FORGOTTEN", "Forgotten",
           "now_ms", "reply_subject"]

SAGAS, INDEX = b"G", b"I"
MIGRATION_ID_TAKEN = "MIGRATION_ID_TAKEN"  # added by this service: the id is another subject's migration
# added by this service: a reply about a migration that the subject of its key does not have
UNKNOWN_MIGRATION = "UNKNOWN_MIGRATION"
PENDING_MS = 30_000  # how long a POSTed id counts as known without its claim in the store
_CACHE = 50_000  # subjects kept decoded


class Forgotten(enum.Enum):
    """A saga its subject no longer keeps (SUBJECT_BUDGET): unknown, not on its way."""

    FORGOTTEN = "forgotten"


FORGOTTEN = Forgotten.FORGOTTEN


def now_ms() -> int:
    return time.time_ns() // 1_000_000


def reply_subject(key: bytes | None) -> str:
    """The subject a reply is about. The reply's fields do not name it: its key does (bus.md: the
    UTF-8 subject_id), and that key comes from a city, so it is checked like a field. Refused as
    INVALID_FIELD ("format"), not UNDECODABLE: the value decoded, the key breaks its form. A key
    that is no subject id could never reach a saga (sagas start only for valid ids)."""
    if not key:
        raise ValidationError("key", "a reply must be keyed by subject_id", key)
    try:
        subject_id = key.decode()
    except UnicodeDecodeError:
        raise ValidationError("key", "must be a UTF-8 subject_id", key) from None
    if not _is_subject_id(subject_id):
        raise ValidationError("key", "must be a subject_id (GB 11643 resident_id or GB 32100 enterprise id)",
                              subject_id)
    return subject_id


def _unmatched(migration_id: str, subject: SubjectSagas) -> str:
    why = "keyed by another subject, never requested" + (
        f", or forgotten with the {subject.forgotten} oldest finished migrations of the subject" if subject.forgotten
        else "")
    return (f"migration_id: {migration_id} is no migration of the key's subject {subject.subject_id} ({why}); "
            "a reply is keyed by the subject_id of its command")


def _is_subject_id(value: str) -> bool:
    for validate in (validate_resident_id, validate_enterprise_id):
        try:
            validate(value)
            return True
        except ValidationError:
            pass
    return False


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
        # migration_id -> subject_id claimed by this batch and the previous one (maybe not stored yet)
        self._claims: dict[str, str] = {}
        self._last_claims: dict[str, str] = {}
        self._announced: dict[bytes, int] = {}  # subject key -> partition: statuses a tick sent, to unmark
        # partitions assigned and not yet ticked (catching up: maybe replaying what a crash left
        # unsent), and the migrations whose current status an event read there sent again
        self._replaying: set[int] = set()
        self._reannounced: set[str] = set()
        self.pending: dict[str, int] = {}  # migration_id -> when POSTed here, for PENDING_MS
        self._now = 0  # the bus's clock when the batch being decided was taken
        self.events = self.rejected = self.commands = self.ticks = 0

    # ---- the worker's hooks ------------------------------------------------------------------
    def forget(self, partitions: Iterable[int] = ()) -> None:
        self._replaying.update(partitions)
        self._reannounced.clear()
        self._subjects.clear()
        self._claims.clear()
        self._last_claims.clear()
        self._announced.clear()
        self.deadlines.forget()

    async def process(self, records: Sequence[ConsumerRecord], stores: Stores, send: Send) -> Batch:
        batch = Batch()
        sink = DeadLetterSink(send, self.service)
        touched: dict[bytes, int] = {}  # subject key -> partition, written once per batch
        self._last_claims, self._claims = self._claims, {}
        self._now = self.clock()
        for record in records:
            self.events += 1
            outcome = await self._event(record, stores, send, sink, batch)
            if outcome is None:
                continue
            subject = outcome.subject
            key = subject.subject_id.encode()
            if outcome.changed:
                self._subjects[key] = subject
                touched[key] = subject.partition
            self.deadlines.track(subject.subject_id, subject.partition, subject.next_deadline())
            await self._send_outcome(outcome, send, batch)
        for key, partition in touched.items():
            self._keep(key, partition, self._subjects[key], batch)
        if len(self._subjects) > _CACHE:  # keep what the stores may not have yet
            keep = self._last_touched | touched.keys()
            self._subjects = {k: v for k, v in self._subjects.items() if k in keep}
        self._last_touched = set(touched)
        return batch

    async def tick(self, ready: frozenset[int], stores: Stores, send: Send) -> Batch:
        """Fire every deadline due now on the partitions this worker owns."""
        batch = Batch()
        self._replaying = {p for p in self._replaying - ready if p in stores}  # not the ones revoked
        if not self._replaying:
            self._reannounced.clear()
        self._clear_announced(ready, stores, batch)
        if self.deadlines.stale or ready != self._ticking:
            self.deadlines.rebuild(self._deadlines_in(ready, stores, batch))
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
                kept = self._keep(key, partition, self._unannounced(key, partition, outcome), batch)
                self.deadlines.track(subject_id, partition, kept.next_deadline())
            await self._send_outcome(outcome, send, batch, all_after=True)
        if now - min(self.pending.values(), default=now) > PENDING_MS:
            self.pending = {m: at for m, at in self.pending.items() if now - at < PENDING_MS}
        return batch

    def _unannounced(self, key: bytes, partition: int, outcome: Outcome) -> SubjectSagas:
        """The subject to keep for a deadline's decision: its status goes out only after the state
        (a status sent before, then lost with the state in a crash, was a decision the restarted
        worker could make otherwise: FAILED on the bus, then COMPLETED), so the state names it
        as unannounced until a later tick, once it is on the broker, clears the mark."""
        statuses = {c.migration_id for c in outcome.commands if isinstance(c, PublishStatus)}
        if not statuses:
            return outcome.subject
        self._announced[key] = partition
        return evolve(outcome.subject, unannounced=tuple(sorted({*outcome.subject.unannounced, *statuses})))

    def _clear_announced(self, ready: frozenset[int], stores: Stores, batch: Batch) -> None:
        """Unmark the statuses the previous ticks sent (on the broker: their batch has settled)."""
        announced, self._announced = self._announced, {}
        for key, partition in announced.items():
            if partition not in ready:
                continue  # its new owner announces them again
            subject = self._load(key, key.decode(), partition, stores)
            if subject.unannounced:
                self._keep(key, partition, evolve(subject, unannounced=()), batch)

    def _keep(self, key: bytes, partition: int, subject: SubjectSagas, batch: Batch) -> SubjectSagas:
        """A subject's new value, to the store and changelog with the batch (its oldest finished
        migrations forgotten past SUBJECT_BUDGET, so that the value always fits in a record)."""
        kept, raw = subject.fitted()
        self._subjects[key] = kept
        batch.put(partition, SAGAS + key, raw)
        return kept

    # ---- one event ---------------------------------------------------------------------------
    async def _event(self, record: ConsumerRecord, stores: Stores, send: Send, sink: DeadLetterSink,
                     batch: Batch) -> Outcome | None:
        stage = record.topic if record.topic in (CLAIMS_TOPIC, CLAIMED_TOPIC) else None
        origin = record if stage is None else origin_of(record, self.partitions)
        if origin is None:
            await self._reject(sink, record, "UNDECODABLE", f"{ORIGIN_HEADER} header: missing or not "
                                                            "topic/partition/offset/timestamp")
            return None
        checked = self.intake.check_record(origin)
        if isinstance(checked, Rejection):
            self.rejected += 1
            await sink.reject(checked)
            return None
        value = checked.value
        if not isinstance(value, (MigrationRequested, ReplyReceived)):
            # only on this service's own topics, whose origin header names any topic (another type's)
            await self._reject(sink, origin, "WRONG_TYPE", f"a {type(value).__name__}: this service reads "
                                                           "migration requests, household moves and replies only")
            return None
        if isinstance(value, MigrationRequested):
            if value.requested_by == HOUSEHOLD_MOVE_REQUESTER and origin.timestamp > value.requested_at:
                # a zero-click migration is requested when the bus reads the move, not when the
                # household moved: deadlines count from there (the log's time: the same on a replay)
                value = replace(value, requested_at=origin.timestamp)
            if value.requested_at > self._now:
                # a sender's clock ahead of the bus's would push every later deadline of the saga
                # out with it (a step sent now, due in 2100, is never asked again): the saga's
                # time never runs ahead of the bus's (a reply's `replied_at` likewise, below)
                value = replace(value, requested_at=self._now)
            if origin.key != value.subject_id.encode():  # file it under its subject's partition
                await send(*request_out(value))
                return None
            return await self._request(value, record, origin, stage, stores, send, sink, batch)
        try:
            subject_id = reply_subject(record.key)
        except ValidationError as error:
            await self._reject(sink, record, error.reason_code, str(error))
            return None
        if value.replied_at > self._now:
            value = replace(value, replied_at=self._now)
        subject = self._load(record.key, subject_id, record.partition, stores)
        if value.migration_id not in subject.sagas:
            # keyed by another subject (a city's mistake), or an id never requested, or forgotten
            # past SUBJECT_BUDGET: no saga can take it. Its step, if any, is asked again at its
            # deadline, so nothing waits on it; the reply goes where someone can see it
            await self._reject(sink, record, UNKNOWN_MIGRATION, _unmatched(value.migration_id, subject))
            return None
        outcome = subject.on_reply(value, self.policy)
        if not outcome.changed:
            self._announce_replayed(subject, value.migration_id, batch)
        return outcome

    async def _request(self, request: MigrationRequested, record: ConsumerRecord, origin: ConsumerRecord,
                       stage: str | None, stores: Stores, send: Send, sink: DeadLetterSink,
                       batch: Batch) -> Outcome | None:
        """Start a saga once its migration_id is claimed for its subject (see the module doc)."""
        migration_id, subject_id = request.migration_id, request.subject_id
        if stage == CLAIMS_TOPIC:  # this worker owns the id's partition: record.partition
            if not await self._claim(migration_id, subject_id, record.partition, stores, sink, origin, batch):
                return None
            topic, key, value, headers = forwarded(origin, CLAIMED_TOPIC, subject_id.encode())
            batch.send_after(topic, key, value, headers, origin.partition)
            return None
        # the subject's partition: where the request was published (every later event of it too)
        subject = self._load(origin.key, subject_id, origin.partition, stores)
        if not migration_id.strip():  # refused by a field rule, nothing to claim (SubjectSagas.on_request)
            return subject.on_request(request, self.policy)
        if stage is None:
            home = partition_of(migration_id.encode(), self.partitions)
            known = migration_id in subject.sagas
            if home not in stores:  # another worker owns the id: claim it there first
                if not known:
                    await send(*forwarded(origin, CLAIMS_TOPIC, migration_id.encode()), home)
                    return None
            # also for a known saga: a crash while a batch's changelog was half written can keep
            # the saga (its partition's records acknowledged) and lose the claim (another
            # partition's), and then the replayed request must claim the id again, or GET never finds it
            elif not await self._claim(migration_id, subject_id, home, stores, sink, origin, batch):
                return None
        outcome = subject.on_request(request, self.policy)
        if not outcome.changed:
            self._announce_replayed(subject, migration_id, batch)
        return outcome

    def _announce_replayed(self, subject: SubjectSagas, migration_id: str, batch: Batch) -> None:
        """An event that changes nothing, read while its partition catches up after an assignment,
        may be one whose state was kept and whose statuses were lost in a crash (see the module
        doc): the saga's current status goes out again, once per migration in the catch-up."""
        if subject.partition not in self._replaying or migration_id in self._reannounced:
            return
        saga = subject.sagas.get(migration_id)
        if saga is None:
            return
        self._reannounced.add(migration_id)
        self._status_after(saga, batch)

    def _status_after(self, saga: SagaState, batch: Batch) -> None:
        """The saga's current status, to send once `batch`'s state is kept."""
        topic, key, value, headers = outbound(status_of(saga))
        batch.send_after(topic, key, value, headers, partition_of(key, self.partitions))

    async def _claim(self, migration_id: str, subject_id: str, home: int, stores: Stores, sink: DeadLetterSink,
                     origin: ConsumerRecord, batch: Batch) -> bool:
        """Claim `migration_id` for `subject_id` in its partition `home` (kept with the batch's
        state); False (dead-lettered) when it is another subject's."""
        holder = self._claims.get(migration_id) or self._last_claims.get(migration_id)
        if holder is None:
            holder = self.subject_of(migration_id, stores, home)
        if holder is None:
            self._claims[migration_id] = subject_id
            batch.put(home, INDEX + migration_id.encode(), subject_id.encode())
        elif holder != subject_id:
            await self._reject(sink, origin, MIGRATION_ID_TAKEN,
                               f"migration_id: {migration_id} is already the migration of another subject")
            return False
        return True

    async def _reject(self, sink: DeadLetterSink, record: ConsumerRecord, code: str, reason: str) -> None:
        self.rejected += 1
        await sink.reject(Rejection.of_record(record, code, reason))

    async def _send_outcome(self, outcome: Outcome, send: Send, batch: Batch, all_after: bool = False) -> None:
        """Send what the saga decided: the status changes once `batch`'s state is kept, the
        commands now (see the module doc), or with `all_after` (a deadline's) those too."""
        for command in outcome.commands:
            topic, key, value, headers = outbound(command)
            partition = partition_of(key, self.partitions)  # remembered there
            if all_after or isinstance(command, PublishStatus):
                batch.send_after(topic, key, value, headers, partition)
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

    def _deadlines_in(self, ready: frozenset[int], stores: Stores, batch: Batch) -> list[tuple[str, int, int | None]]:
        """Every stored deadline; the statuses a crash may have lost (still unannounced) are sent again."""
        entries = []
        for partition in ready:
            store = stores[partition]
            for key in store.keys(SAGAS):
                raw = store.get(key)
                if raw is not None:
                    subject = SubjectSagas.from_bytes(raw)
                    entries.append((subject.subject_id, partition, subject.next_deadline()))
                    self._announce_again(key[len(SAGAS):], partition, subject, batch)
        return entries

    def _announce_again(self, key: bytes, partition: int, subject: SubjectSagas, batch: Batch) -> None:
        for migration_id in subject.unannounced:
            saga = subject.sagas.get(migration_id)
            if saga is not None:
                self._status_after(saga, batch)
        if subject.unannounced:
            self._announced[key] = partition

    # ---- for HTTP ----------------------------------------------------------------------------
    @staticmethod
    def subject_of(migration_id: str, stores: Stores, partition: int) -> str | None:
        raw = stores[partition].get(INDEX + migration_id.encode())
        return None if raw is None else raw.decode()

    @staticmethod
    def saga(subject_id: str, migration_id: str, stores: Stores, partition: int) -> SagaState | None | Forgotten:
        """The saga as stored (its commands and statuses are on the broker); FORGOTTEN when it is
        not there and its subject has forgotten finished migrations (else it may be on its way)."""
        raw = stores[partition].get(SAGAS + subject_id.encode())
        if raw is None:
            return None
        subject = SubjectSagas.from_bytes(raw)
        state = subject.sagas.get(migration_id)
        return FORGOTTEN if state is None and subject.forgotten else state

    def status(self) -> Mapping[str, Any]:
        return {"events": self.events, "rejected": self.rejected, "commands": self.commands, "ticks": self.ticks,
                "deadlines": len(self.deadlines), "pending": len(self.pending)}
