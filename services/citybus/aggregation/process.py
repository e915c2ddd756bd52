"""One batch through the service: intake -> domain (batch.apply_person) -> sends -> table writes.

Order, for at-least-once without loss: the batch's sends are awaited until the broker has them,
then each touched person's state is written once; the caller returns and only then are the
batch's offsets acked (Faust's take_events), and Faust flushes the producer (changelogs) before
it commits them. A crash anywhere replays the batch: the ledger ignores what it has already
seen, and a replayed person is written again, so a changelog write lost in a crash is re-made.
"""
from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any

from faust.types import EventT

from citybus.aggregation.batch import PersonEvents, apply_person, group_by_resident
from citybus.aggregation.book import RetirementBook
from citybus.aggregation.cache import MISSING, LruCache
from citybus.aggregation.partition import in_partition_of
from citybus.aggregation.outputs import Message, index_message, statement_message, summary_message
from citybus.bus import DeadLetterSink, Intake, Rejection
from citybus.domain.contributions import MedicalPolicy, PersonLedger

__all__ = ["Aggregator", "WRONG_KEY"]

log = logging.getLogger(__name__)
WRONG_KEY = "WRONG_KEY"  # added by this service: the Kafka key is not the record's resident_id

Send = Callable[[str, bytes | None, bytes, list[tuple[str, bytes]]], Awaitable[Any]]


def _headers(raw: Any) -> list[tuple[str, bytes | None]]:
    if not raw:
        return []
    return list(raw.items()) if isinstance(raw, Mapping) else list(raw)


class Aggregator:
    def __init__(self, *, ledgers: Any, retirements: Any, index_topic: str, intake: Intake,
                 deadletters: DeadLetterSink, send: Send, policies: Mapping[str, MedicalPolicy],
                 cache_persons: int = 20000) -> None:
        self.ledgers = ledgers
        self.retirements = retirements
        self.index_topic = index_topic
        self.intake = intake
        self.deadletters = deadletters
        self.send = send
        self.policies = policies
        self._ledger_cache: LruCache[PersonLedger] = LruCache(cache_persons)
        self._book_cache: LruCache[RetirementBook | None] = LruCache(cache_persons)
        self.events = self.rejected = self.summaries = self.statements = 0

    def forget(self) -> None:
        """After a rebalance another worker may have changed a person: read them from the tables again."""
        self._ledger_cache.clear()
        self._book_cache.clear()

    async def process(self, events: Sequence[EventT]) -> None:
        accepted, rejections = self._check(events)
        people = group_by_resident(accepted)
        now_ms = int(time.time() * 1000)
        messages: list[Message] = []
        writes: list[tuple[EventT, str, PersonLedger | None, RetirementBook | None]] = []
        for person in people.values():
            rid = person.resident_id
            ledger, book = self._ledger(rid, person), self._book(rid, person)
            outcome = apply_person(ledger, book, person, self.policies)
            for scheme in outcome.changed_schemes:
                messages.append(summary_message(rid, scheme, ledger.summary(scheme), now_ms))
            for statement in outcome.statements:
                messages.append(statement_message(statement, now_ms))
                messages.append(index_message(self.index_topic, book.issued[statement.request_id].statement))
            for rejected in outcome.rejected:
                rejections.append(_rejection(rejected.origin, rejected.reason_code, rejected.reason))
            if book:
                self._book_cache.put(rid, book)
            any_event = (person.contributions or person.requests)[0][1]
            # every person with contributions in the batch is written, changed or not (see module doc)
            writes.append((any_event, rid, ledger if person.contributions else None,
                           book if outcome.book_changed or person.requests else None))
            self.summaries += len(outcome.changed_schemes)
            self.statements += len(outcome.statements)
        pending = [await self.send(*m) for m in messages]
        for rejection in rejections:
            await self.deadletters.reject(rejection)
        await asyncio.gather(*pending)
        for event, rid, ledger, book in writes:
            with in_partition_of(event):
                key = rid.encode()
                if ledger is not None:
                    self.ledgers[key] = ledger.to_bytes()
                if book is not None:
                    self.retirements[key] = book.to_bytes()
        self.events += len(events)
        self.rejected += len(rejections)

    def _check(self, events: Sequence[EventT]) -> tuple[list[tuple[Any, EventT]], list[Rejection]]:
        accepted: list[tuple[Any, EventT]] = []
        rejections: list[Rejection] = []
        check = self.intake.check
        for event in events:
            m = event.message
            outcome = check(m.topic, m.partition, m.offset, m.key, m.value, _headers(m.headers))
            if isinstance(outcome, Rejection):
                rejections.append(outcome)
            elif m.key != outcome.value.resident_id.encode():
                rejections.append(_rejection(event, WRONG_KEY, f"key: must be the record's resident_id "
                                                                f"{outcome.value.resident_id} (got {m.key!r})"))
            else:
                accepted.append((outcome.value, event))
        return accepted, rejections

    def _ledger(self, rid: str, person: PersonEvents[EventT]) -> PersonLedger:
        cached = self._ledger_cache.get(rid)
        if cached is not MISSING:
            return cached  # type: ignore[return-value]
        with in_partition_of((person.contributions or person.requests)[0][1]):
            stored = self.ledgers.get(rid.encode())
        ledger = PersonLedger.from_bytes(stored) if stored is not None else PersonLedger(rid)
        self._ledger_cache.put(rid, ledger)
        return ledger

    def _book(self, rid: str, person: PersonEvents[EventT]) -> RetirementBook:
        cached = self._book_cache.get(rid)
        if cached is MISSING:
            with in_partition_of((person.contributions or person.requests)[0][1]):
                stored = self.retirements.get(rid.encode())
            cached = RetirementBook.from_bytes(stored) if stored is not None else None
            self._book_cache.put(rid, cached)
        return cached if cached is not None else RetirementBook(rid)  # type: ignore[return-value]

    # readers (HTTP): the cache if it holds the person, else the table; never filling the cache
    def read_ledger(self, rid: str) -> PersonLedger | None:
        cached = self._ledger_cache.peek(rid)
        if cached is not MISSING:
            return cached  # type: ignore[return-value]
        stored = self.ledgers.get(rid.encode())
        return PersonLedger.from_bytes(stored) if stored is not None else None


def _rejection(event: EventT, reason_code: str, reason: str) -> Rejection:
    m = event.message
    return Rejection(m.topic, m.partition, m.offset, m.key, m.value, tuple(_headers(m.headers)), reason_code, reason)
