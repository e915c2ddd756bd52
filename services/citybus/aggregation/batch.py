"""A batch of events applied person by person: every event of a person first, then one answer.

Coalescing is the point: a person's summaries are published once per batch (for the schemes
whose summary changed), statements are checked once per batch, and the caller writes each
ledger once. A batch is one moment: a retirement request in it sees every record of the batch.
No I/O here; `origin` is whatever the caller needs to dead-letter an event (its Kafka message).
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from citybus.aggregation.book import RetirementBook
from citybus.domain.contributions import (
    ApplyOutcome,
    ContributionRecord,
    MAX_REQUESTS_PER_RESIDENT,
    MedicalPolicy,
    SCHEMES,
    PersonLedger,
    RetirementRequest,
    RetirementStatement,
    retirement_statement,
    statement_json,
)
from citybus.errors import ValidationError

__all__ = ["PersonEvents", "PersonOutcome", "Rejected", "group_by_resident", "apply_person", "other_content",
           "STATEMENT_SCHEMES", "REVISION_CONFLICT", "REQUEST_CONFLICT", "LIMIT_EXCEEDED"]

Origin = TypeVar("Origin")
STATEMENT_SCHEMES = frozenset({"PENSION", "MEDICAL"})
REVISION_CONFLICT = "REVISION_CONFLICT"
INVALID_FIELD = "INVALID_FIELD"
REQUEST_CONFLICT = "REQUEST_CONFLICT"  # added by this service: a request_id seen before with other content
# added by this service: a resident already has the most records or requests it keeps for one
LIMIT_EXCEEDED = "LIMIT_EXCEEDED"


@dataclass(slots=True)
class PersonEvents(Generic[Origin]):
    resident_id: str
    contributions: list[tuple[ContributionRecord, Origin]] = field(default_factory=list)
    requests: list[tuple[RetirementRequest, Origin]] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Rejected(Generic[Origin]):
    origin: Origin
    reason_code: str
    reason: str


@dataclass(slots=True)
class PersonOutcome(Generic[Origin]):
    resident_id: str
    changed_schemes: tuple[str, ...] = ()  # publish these summaries, once each
    statements: list[RetirementStatement] = field(default_factory=list)  # issue these
    rejected: list[Rejected[Origin]] = field(default_factory=list)
    ledger_changed: bool = False
    book_changed: bool = False


def group_by_resident(
        items: Iterable[tuple[ContributionRecord | RetirementRequest, Origin]]) -> dict[str, PersonEvents[Origin]]:
    """Per resident, in arrival order; dict order is the order residents first appear."""
    people: dict[str, PersonEvents[Origin]] = {}
    for value, origin in items:
        person = people.get(value.resident_id)
        if person is None:
            person = people[value.resident_id] = PersonEvents(value.resident_id)
        if isinstance(value, ContributionRecord):
            person.contributions.append((value, origin))
        else:
            person.requests.append((value, origin))
    return people


def apply_person(ledger: PersonLedger, book: RetirementBook, events: PersonEvents[Origin],
                 policies: Mapping[str, MedicalPolicy]) -> PersonOutcome[Origin]:
    """Apply a person's events to `ledger` and `book` (both mutated) and say what to send."""
    outcome: PersonOutcome[Origin] = PersonOutcome(events.resident_id)
    changed: set[str] = set()
    touched: set[str] = set()
    reissuers: list[Origin] = []  # the events that may change an issued statement's figures
    for record, origin in events.contributions:
        result = ledger.apply(record)
        if result.outcome is ApplyOutcome.CONFLICT:
            outcome.rejected.append(Rejected(origin, REVISION_CONFLICT, result.reason))
        elif result.outcome is ApplyOutcome.FULL:
            outcome.rejected.append(Rejected(origin, LIMIT_EXCEEDED, result.reason))
        elif result.outcome is ApplyOutcome.APPLIED:
            outcome.ledger_changed = True
            changed.update(result.changed_schemes)
            touched.update(result.touched_schemes)
            if STATEMENT_SCHEMES.intersection(result.touched_schemes):
                reissuers.append(origin)
    outcome.changed_schemes = tuple(s for s in SCHEMES if s in changed)
    new_requests: set[str] = set()
    for request, origin in events.requests:
        known = book.issued.get(request.request_id)
        if known is not None:
            if known.request != request:
                outcome.rejected.append(Rejected(origin, REQUEST_CONFLICT, other_content(request.request_id)))
            continue
        sent = book.sent.get(request.request_id)
        if sent is None and len(book.issued) >= MAX_REQUESTS_PER_RESIDENT:  # (a sent one was within it)
            outcome.rejected.append(Rejected(origin, LIMIT_EXCEEDED, _too_many_requests(book, request.request_id)))
            continue
        try:
            revision = 1 if sent is None else sent["revision"]
            statement = retirement_statement(ledger, request, policies, revision=revision)
            if sent is not None and statement_json(statement) != sent:  # a crash sent other figures under it
                statement = retirement_statement(ledger, request, policies, revision=sent["revision"] + 1)
        except ValidationError as exc:
            outcome.rejected.append(Rejected(origin, exc.reason_code, _unstatable(request.request_id, exc)))
            continue
        book.sent.pop(request.request_id, None)
        book.record(request, statement)
        outcome.statements.append(statement)
        new_requests.add(request.request_id)
        outcome.book_changed = True
    if touched & STATEMENT_SCHEMES:
        unstatable: list[str] = []
        for request_id, issued in list(book.issued.items()):
            if request_id in new_requests:
                continue
            try:
                candidate = retirement_statement(ledger, issued.request, policies, revision=issued.revision)
            except ValidationError as exc:
                unstatable.append(f"{_unstatable(request_id, exc)} (it stays at revision {issued.revision})")
                continue
            if issued.differs_from(candidate):
                reissued = retirement_statement(ledger, issued.request, policies, revision=issued.revision + 1)
                book.record(issued.request, reissued)
                outcome.statements.append(reissued)
                outcome.book_changed = True
        if unstatable:  # applied, and still refused: no statement can show what they made of the figures
            reason = "applied, but " + "; ".join(unstatable)
            outcome.rejected.extend(Rejected(origin, INVALID_FIELD, reason) for origin in reissuers)
    return outcome


def other_content(request_id: str) -> str:
    """Why a request is refused REQUEST_CONFLICT when its person already has its id."""
    return f"request_id: {request_id} was already requested with other content"


def _too_many_requests(book: RetirementBook, request_id: str) -> str:
    return (f"resident {book.resident_id} already has {len(book.issued)} retirement requests, the most this "
            f"service keeps for one resident; request_id {request_id} is not stated")


def _unstatable(request_id: str, error: ValidationError) -> str:
    """Why no statement can be issued for a request: a figure of it does not fit the record."""
    return f"the statement of request_id {request_id} cannot be issued: {error}"
