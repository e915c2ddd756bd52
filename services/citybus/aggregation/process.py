"""One batch of the aggregation: intake -> domain (batch.apply_person) -> sends -> state.

Inputs, all in the consumer group citybus-aggregation and co-partitioned (6 partitions):

- every city's contributions and retirements topics, keyed by resident_id;
- `BY_PERSON_TOPIC`, the repartition topic: an event that arrived in another partition than
  Kafka's default partitioner gives its resident_id (a city whose client partitions otherwise)
  is forwarded there, bytes untouched, with its origin in a header, and applied when it comes
  back in the person's partition;
- `CLAIMS_TOPIC`, retirement requests in the partition of their request_id, before any statement:
  the first request under an id claims it there, and is sent on to its person's partition
  (citybus.aggregation.claims);
- `INDEX_TOPIC`, statements keyed by request_id, stored in the partition of the request_id:
  the /retirements lookup. It is its own log (compacted), so it has no changelog.

State, in the partition stores (see citybus.streams): `L`+resident_id -> PersonLedger bytes,
`R`+resident_id -> RetirementBook bytes, `C`+request_id -> the claiming request (changelogged),
`S`+request_id -> statement JSON.
The caller (StateWorker) sends, changelogs, stores and commits in the order that makes a
crash harmless; this module only decides.
"""
from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal
from typing import Any

from aiokafka.structs import ConsumerRecord

from citybus.aggregation.batch import (
    REQUEST_CONFLICT, PersonEvents, apply_person, group_by_resident, other_content,
)
from citybus.aggregation.book import RetirementBook
from citybus.aggregation.cache import MISSING, LruCache
from citybus.aggregation.claims import CLAIM, CLAIMED, CLAIMS_TOPIC, claim_conflict, claim_value
from citybus.aggregation.outputs import STATEMENT as STATEMENT_RECORD
from citybus.aggregation.outputs import index_message, statement_message, summary_message
from citybus.bus import DeadLetterSink, Intake, Rejection
from citybus.codec import decode
from citybus.domain.contributions import ContributionRecord, MedicalPolicy, PersonLedger, RetirementRequest
from citybus.domain.ids import money_str
from citybus.streams.origin import ORIGIN_HEADER, forward_headers, hop_of, origin_of
from citybus.streams.store import Stores
from citybus.streams.batch import Batch, Send, partition_of

__all__ = ["Aggregator", "WRONG_KEY", "INDEX_TOPIC", "BY_PERSON_TOPIC", "CLAIMS_TOPIC", "ORIGIN_HEADER", "LEDGER",
           "BOOK", "STATEMENT", "CLAIM"]

WRONG_KEY = "WRONG_KEY"  # added by this service: the Kafka key is not the record's resident_id
INDEX_TOPIC = "citybus-aggregation-statements-by-request"
BY_PERSON_TOPIC = "citybus-aggregation-by-person"
LEDGER, BOOK, STATEMENT = b"L", b"R", b"S"

log = logging.getLogger(__name__)


class Aggregator:
    def __init__(self, *, intake: Intake, service: str, policies: Mapping[str, MedicalPolicy],
                 partitions: int, cache_persons: int = 20000) -> None:
        self.intake = intake
        self.service = service
        self.policies = policies
        self.partitions = partitions
        self._ledgers: LruCache[PersonLedger] = LruCache(cache_persons)
        self._books: LruCache[RetirementBook | None] = LruCache(cache_persons)
        self.events = self.rejected = self.summaries = self.statements = self.forwarded = 0

    def forget(self, partitions: Iterable[int] = ()) -> None:
        """After a rebalance another worker may have changed a person: read them from the store again."""
        self._ledgers.clear()
        self._books.clear()

    async def process(self, records: Sequence[ConsumerRecord], stores: Stores, send: Send) -> Batch:
        batch = Batch()
        accepted: list[tuple[Any, ConsumerRecord]] = []
        rejections: list[Rejection] = []
        index: list[ConsumerRecord] = []
        claims: list[ConsumerRecord] = []
        for record in records:
            if record.topic == INDEX_TOPIC:
                index.append(record)
                continue
            if record.topic == CLAIMS_TOPIC:
                claims.append(record)
                continue
            outcome = self._check(record)
            if isinstance(outcome, Rejection):
                rejections.append(outcome)
            elif type(outcome[0]) is RetirementRequest and not _claimed(record):
                await self._to_claim(outcome[0], outcome[1], record, stores, send, rejections)
            elif record.partition != partition_of(record.key, self.partitions):
                await send(BY_PERSON_TOPIC, record.key, record.value, forward_headers(record),
                           partition_of(record.key, self.partitions))
                self.forwarded += 1
            else:
                accepted.append(outcome)
        now_ms = int(time.time() * 1000)
        for person in group_by_resident(accepted).values():
            await self._apply(person, stores, batch, send, rejections, now_ms)
        await self._claims(claims, stores, batch, send, rejections)
        self._index(index, stores, batch, rejections)
        deadletters = DeadLetterSink(send, self.service)
        for rejection in rejections:
            await deadletters.reject(rejection)
        self.events += len(records)
        self.rejected += len(rejections)
        return batch

    async def recover(self, records: Sequence[ConsumerRecord], stores: Stores, send: Send) -> Batch:
        """Statements past what the stores hold were sent by a batch whose state a crash lost: the
        person's book takes them (and the index), so the replay issues other figures under the next
        revision, never under one already sent."""
        batch = Batch()
        for record in records:
            view = _sent_statement(record)
            if view is None or partition_of(view["resident_id"].encode(), self.partitions) != record.partition:
                continue
            rid = view["resident_id"]
            book = self._book(rid, stores[record.partition])
            if not book.adopt(view):
                continue
            self._books.put(rid, book)
            batch.put(record.partition, BOOK + rid.encode(), book.to_bytes())
            topic, request_key, value, headers = index_message(INDEX_TOPIC, view)
            await send(topic, request_key, value, headers, partition_of(request_key, self.partitions))
        return batch

    def _check(self, record: ConsumerRecord) -> tuple[Any, ConsumerRecord] | Rejection:
        """The record's domain value and where it was first published, or why it is refused."""
        forwarded = record.topic in (BY_PERSON_TOPIC, CLAIMS_TOPIC)
        if forwarded:
            origin = origin_of(record, self.partitions)
            if origin is None:
                return Rejection.of_record(record, "UNDECODABLE",
                                           f"{ORIGIN_HEADER} header: missing or not topic/partition/offset/timestamp")
            record = origin
        outcome = self.intake.check_record(record)
        if isinstance(outcome, Rejection):
            return outcome
        if forwarded and type(outcome.value) not in (ContributionRecord, RetirementRequest):
            # the origin header of a record on this service's own topics may name any topic (another
            # type's); a record read from its source topics is of the topic's type (the intake says so)
            return Rejection.of_record(record, "WRONG_TYPE", f"a {type(outcome.value).__name__}: this service "
                                                             "reads contributions and retirement requests only")
        if record.key != outcome.value.resident_id.encode():
            return Rejection.of_record(record, WRONG_KEY, f"key: must be the record's resident_id "
                                                          f"{outcome.value.resident_id} (got {record.key!r})")
        return outcome.value, record

    async def _apply(self, person: PersonEvents[ConsumerRecord], stores: Stores, batch: Batch, send: Send,
                     rejections: list[Rejection], now_ms: int) -> None:
        rid = person.resident_id
        key = rid.encode()
        partition = partition_of(key, self.partitions)
        store = stores[partition]
        ledger = self._ledger(rid, store)
        book = self._book(rid, store)
        outcome = apply_person(ledger, book, person, self.policies)
        for scheme in outcome.changed_schemes:
            await send(*summary_message(rid, scheme, ledger.summary(scheme), now_ms))
        for statement in outcome.statements:
            await send(*statement_message(statement, now_ms))
            topic, request_key, value, headers = index_message(INDEX_TOPIC, book.issued[statement.request_id].statement)
            await send(topic, request_key, value, headers, partition_of(request_key, self.partitions))
        for rejected in outcome.rejected:
            rejections.append(Rejection.of_record(rejected.origin, rejected.reason_code, rejected.reason))
        if outcome.ledger_changed:
            batch.put(partition, LEDGER + key, ledger.to_bytes())
        if outcome.book_changed:
            batch.put(partition, BOOK + key, book.to_bytes())
            self._books.put(rid, book)
        self.summaries += len(outcome.changed_schemes)
        self.statements += len(outcome.statements)

    async def _to_claim(self, request: RetirementRequest, origin: ConsumerRecord, record: ConsumerRecord,
                        stores: Stores, send: Send, rejections: list[Rejection]) -> None:
        """A request goes to the partition of its request_id to claim the id, unless the person's
        book (here, when this is the person's partition) already holds it: then it was claimed."""
        if record.partition == partition_of(record.key, self.partitions):
            issued = self._book(request.resident_id, stores[record.partition]).issued.get(request.request_id)
            if issued is not None:
                if issued.request != request:
                    rejections.append(Rejection.of_record(origin, REQUEST_CONFLICT, other_content(request.request_id)))
                return
        key = request.request_id.encode()
        await send(CLAIMS_TOPIC, key, origin.value, forward_headers(origin), partition_of(key, self.partitions))
        self.forwarded += 1

    async def _claims(self, records: Sequence[ConsumerRecord], stores: Stores, batch: Batch, send: Send,
                      rejections: list[Rejection]) -> None:
        """Requests in the partition of their request_id: the first under an id claims it and goes on
        to its person's partition; a later one with other content is refused."""
        for record in records:
            outcome = self._check(record)
            if isinstance(outcome, Rejection):
                rejections.append(outcome)
                continue
            request, origin = outcome
            if type(request) is not RetirementRequest:
                rejections.append(Rejection.of_record(origin, "WRONG_TYPE", f"{CLAIMS_TOPIC} carries retirement "
                                                      f"requests only (this service's own topic)"))
                continue
            slot = CLAIM + request.request_id.encode()
            claimed = batch.state.get(record.partition, {}).get(slot) or stores[record.partition].get(slot)
            if claimed is None:
                batch.put(record.partition, slot, claim_value(request))
            elif (conflict := claim_conflict(claimed, request)) is not None:
                rejections.append(Rejection.of_record(origin, REQUEST_CONFLICT, conflict))
                continue
            person = request.resident_id.encode()
            await send(BY_PERSON_TOPIC, person, origin.value, forward_headers(origin, CLAIMED),
                       partition_of(person, self.partitions))
            self.forwarded += 1

    def _index(self, records: Sequence[ConsumerRecord], stores: Stores, batch: Batch,
               rejections: list[Rejection]) -> None:
        """Keep the latest statement per request_id; a redelivered older revision never wins.
        A record this service could not have written is dead-lettered, not stored."""
        latest: dict[tuple[int, bytes], tuple[int, bytes]] = {}
        for record in records:
            revision = _index_revision(record)
            if isinstance(revision, str):
                rejections.append(Rejection.of_record(record, "UNDECODABLE", f"statement index record: {revision}"))
                continue
            slot = (record.partition, STATEMENT + record.key)
            known = latest.get(slot)
            if known is None:
                stored = stores[record.partition].get(slot[1])
                known = (json.loads(stored)["revision"], stored) if stored is not None else (0, b"")
            if revision >= known[0]:
                known = (revision, record.value)
            latest[slot] = known
        for (partition, key), (_revision, value) in latest.items():
            if value:
                batch.put_local(partition, key, value)

    def _ledger(self, rid: str, store: Any) -> PersonLedger:
        cached = self._ledgers.get(rid)
        if cached is not MISSING:
            return cached
        stored = store.get(LEDGER + rid.encode())
        ledger = PersonLedger.from_bytes(stored) if stored is not None else PersonLedger(rid)
        self._ledgers.put(rid, ledger)
        return ledger

    def _book(self, rid: str, store: Any) -> RetirementBook:
        cached = self._books.get(rid)
        if cached is MISSING:
            stored = store.get(BOOK + rid.encode())
            cached = RetirementBook.from_bytes(stored) if stored is not None else None
            self._books.put(rid, cached)
        return cached if cached is not None else RetirementBook(rid)

    # readers (HTTP), on the owner: the cache if it holds the person, else the store
    def read_ledger(self, rid: str, stores: Stores) -> PersonLedger | None:
        cached = self._ledgers.peek(rid)
        if cached is not MISSING:
            return cached
        stored = stores[partition_of(rid.encode(), self.partitions)].get(LEDGER + rid.encode())
        return PersonLedger.from_bytes(stored) if stored is not None else None

    def read_statement(self, request_id: str, stores: Stores) -> bytes | None:
        key = request_id.encode()
        return stores[partition_of(key, self.partitions)].get(STATEMENT + key)


def _claimed(record: ConsumerRecord) -> bool:
    """A request its claim sent on (the hop is read only on this service's own topic)."""
    return record.topic == BY_PERSON_TOPIC and hop_of(record) == CLAIMED


def _sent_statement(record: ConsumerRecord) -> dict[str, Any] | None:
    """The JSON view (as the book keeps it) of a statement this service sent, or None when the
    record is not one (the topic is the bus's: log it and leave it)."""
    try:
        _, statement = decode(record.value, STATEMENT_RECORD)
    except Exception as exc:  # noqa: BLE001 - any decoding failure: not a statement of ours
        log.warning("%s %d@%d is not a statement (%s): not recovered", record.topic, record.partition,
                    record.offset, exc)
        return None
    statement.pop("issued_at", None)
    return _money_strings(statement)


def _money_strings(value: Any) -> Any:
    """Decimals as the JSON view writes money."""
    if isinstance(value, Decimal):
        return money_str(value)
    if isinstance(value, dict):
        return {k: _money_strings(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_money_strings(v) for v in value]
    return value


def _index_revision(record: ConsumerRecord) -> int | str:
    """The revision of a statement index record (JSON, keyed by request_id), or what is wrong with it."""
    if not record.key:
        return "key: missing (must be the request_id)"
    try:
        view = json.loads(record.value)
    except (TypeError, ValueError, RecursionError) as exc:  # None, not UTF-8, not JSON, nested too deep
        return f"value: not a JSON statement ({exc})"
    revision = view.get("revision") if isinstance(view, dict) else None
    if isinstance(revision, bool) or not isinstance(revision, int) or revision < 1:
        return f"revision: must be an integer >= 1 (got {revision!r})"
    return revision
