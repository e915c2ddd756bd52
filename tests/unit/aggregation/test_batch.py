"""Batch coalescing: a person's events applied at once, one answer per batch."""
from __future__ import annotations

import dataclasses
import random
from decimal import Decimal

import pytest

from citybus.aggregation import PersonEvents, RetirementBook, apply_person, group_by_resident
from citybus.domain.contributions import MedicalPolicy, PersonLedger, statement_json, summary_json
from tests.unit.domain.contributions.factories import P, rec, request, resident, run
from tests.unit.domain.contributions.reference import reference_figures

POLICIES = {"442000": MedicalPolicy(300, 120)}


def person(contributions=(), requests=()) -> PersonEvents[str]:
    events = PersonEvents(P)
    events.contributions = [(r, f"c{i}") for i, r in enumerate(contributions)]
    events.requests = [(r, f"r{i}") for i, r in enumerate(requests)]
    return events


def worked_example():
    return run("440300", "2010-01", 132) + run("442000", "2020-12", 40, base="6000.00", employee="480.00")


def test_group_by_resident_keeps_arrival_order_per_person():
    other = resident(2)
    items = [(rec(month="2010-01"), 1), (rec(month="2010-02", resident_id=other), 2), (rec(month="2010-03"), 3),
             (request(), 4)]
    people = group_by_resident(items)
    assert list(people) == [P, other]
    assert [o for _, o in people[P].contributions] == [1, 3]
    assert [o for _, o in people[P].requests] == [4]


def test_a_batch_publishes_each_changed_scheme_once():
    events = run("440300", "2010-01", 24) + run("440300", "2010-01", 24, scheme="MEDICAL")
    outcome = apply_person(PersonLedger(P), RetirementBook(P), person(events), POLICIES)
    assert outcome.changed_schemes == ("PENSION", "MEDICAL")
    assert outcome.ledger_changed and not outcome.rejected and not outcome.statements


def test_redelivered_batch_changes_nothing():
    ledger, book = PersonLedger(P), RetirementBook(P)
    events = run("440300", "2010-01", 12)
    apply_person(ledger, book, person(events, [request()]), POLICIES)
    again = apply_person(ledger, book, person(events, [request()]), POLICIES)
    assert (again.changed_schemes, again.statements, again.rejected, again.ledger_changed, again.book_changed) == (
        (), [], [], False, False)


def test_same_revision_with_other_content_is_a_revision_conflict_and_the_first_stays():
    ledger = PersonLedger(P)
    first = rec(month="2010-01")
    outcome = apply_person(ledger, RetirementBook(P), person([first, dataclasses.replace(
        first, employee_amount=Decimal("1.00"))]), POLICIES)
    assert [(r.origin, r.reason_code) for r in outcome.rejected] == [("c1", "REVISION_CONFLICT")]
    assert ledger.summary("PENSION").total_months == 1


def test_request_id_reused_with_other_content_is_a_request_conflict():
    ledger, book = PersonLedger(P), RetirementBook(P)
    apply_person(ledger, book, person(run("440300", "2010-01", 3), [request()]), POLICIES)
    outcome = apply_person(ledger, book, person([], [dataclasses.replace(request(), hukou_city="442000")]), POLICIES)
    assert [r.reason_code for r in outcome.rejected] == ["REQUEST_CONFLICT"] and not outcome.statements


def test_a_request_in_the_batch_sees_every_record_of_the_batch():
    outcome = apply_person(PersonLedger(P), RetirementBook(P), person(worked_example(), [request()]), POLICIES)
    (statement,) = outcome.statements
    assert statement.revision == 1
    assert statement.pension.total_months == 171 and statement.pension.payable_city == "440300"


def test_statement_reissued_when_a_touched_scheme_changes_a_figure_but_not_the_summary():
    """A corrected employee amount of a retained month: same summary, other transfer: re-issue."""
    ledger, book = PersonLedger(P), RetirementBook(P)
    apply_person(ledger, book, person(worked_example(), [request()]), POLICIES)
    corrected = rec(month="2022-01", city="442000", revision=2, base="6000.00", employee="500.00")
    outcome = apply_person(ledger, book, person([corrected]), POLICIES)
    assert outcome.changed_schemes == ()
    (statement,) = outcome.statements
    assert statement.revision == 2
    assert statement.pension.transfers[0].individual_account == Decimal("18740.00")
    assert book.issued[statement.request_id].statement == statement_json(statement)


def test_no_reissue_when_the_figures_stay():
    ledger, book = PersonLedger(P), RetirementBook(P)
    apply_person(ledger, book, person(worked_example(), [request()]), POLICIES)
    # another record of a month that stays retained by the 440300 record: a refund, no figure of the statement
    outcome = apply_person(ledger, book, person([rec(month="2015-05", city="441900", base="100.00")]), POLICIES)
    assert outcome.changed_schemes == ("PENSION",) and outcome.statements == []


@pytest.mark.parametrize("batch", [1, 7, 50, 10_000])
def test_any_batching_gives_the_reference_figures(batch):
    rng = random.Random(batch)
    events = worked_example() + run("441900", "2019-06", 30, scheme="MEDICAL", kind="RESIDENT", base="3000.00")
    events += [dataclasses.replace(e, revision=2, status="REVERSED") for e in rng.sample(events, 10)]
    events += rng.sample(events, 20)  # redeliveries
    rng.shuffle(events)
    ledger, book = PersonLedger(P), RetirementBook(P)
    sent_summaries: dict[str, object] = {}
    for start in range(0, len(events), batch):
        chunk = events[start:start + batch]
        outcome = apply_person(ledger, book, person(chunk, [request()] if start == 0 else []), POLICIES)
        for scheme in outcome.changed_schemes:
            sent_summaries[scheme] = ledger.summary(scheme)
    want = reference_figures(events, request(), {"442000": (300, 120)})
    assert {s: summary_json(v) for s, v in sent_summaries.items() if v is not None} == want["schemes"]
    issued = book.issued[request().request_id].statement
    assert (issued["pension"], issued["medical"]) == (want["pension"], want["medical"])


HUGE = run("442000", "2000-01", 9, employee="500000000000.00")  # each fits decimal(14,2); the sum does not
SHENZHEN_130 = run("440300", "2010-01", 130)


def test_a_request_whose_statement_cannot_be_written_is_refused_and_the_records_stay_applied():
    ledger, book = PersonLedger(P), RetirementBook(P)
    outcome = apply_person(ledger, book, person(HUGE + SHENZHEN_130, [request()]), POLICIES)
    assert [(r.origin, r.reason_code) for r in outcome.rejected] == [("r0", "INVALID_FIELD")]
    assert "r-1" in outcome.rejected[0].reason and "individual_account" in outcome.rejected[0].reason
    assert outcome.statements == [] and not book
    assert ledger.summary("PENSION").total_months == 139


def test_records_that_make_an_issued_statement_unwritable_are_dead_lettered_and_it_stays():
    ledger, book = PersonLedger(P), RetirementBook(P)
    apply_person(ledger, book, person(SHENZHEN_130, [request()]), POLICIES)
    issued = book.issued["r-1"].statement
    medical = rec(month="2001-01", scheme="MEDICAL")
    outcome = apply_person(ledger, book, person([medical, *HUGE]), POLICIES)
    # the medical record touches the statement too: it is named, as any of them may be the cause
    assert [(r.origin, r.reason_code) for r in outcome.rejected] == [(f"c{i}", "INVALID_FIELD") for i in range(10)]
    assert all("r-1" in r.reason and "revision 1" in r.reason for r in outcome.rejected)
    assert outcome.statements == [] and book.issued["r-1"].statement == issued
    assert outcome.changed_schemes == ("PENSION", "MEDICAL")


def test_a_request_whose_statement_a_crash_sent_takes_its_revision_or_the_next():
    """The book adopted a statement found on the topic (its request's state was lost): the request,
    applied again, re-sends it under that revision when the figures are the same, else issues
    the next revision; never other figures under a revision already sent."""
    events = run("440300", "2010-01", 12)
    sent = statement_json(apply_person(PersonLedger(P), RetirementBook(P), person(events, [request()]),
                                       POLICIES).statements[0])
    same, other = RetirementBook(P), RetirementBook(P)
    assert same.adopt(sent) and other.adopt(sent) and not other.adopt(sent)
    again = apply_person(PersonLedger(P), same, person(events, [request()]), POLICIES)
    assert [statement_json(s) for s in again.statements] == [sent] and not same.sent
    more = events + run("442000", "2011-01", 1)
    moved = apply_person(PersonLedger(P), RetirementBook.from_bytes(other.to_bytes()), person(more, [request()]),
                         POLICIES)
    assert [s.revision for s in moved.statements] == [2]
    assert moved.statements[0].pension.total_months == reference_figures(more, request())["pension"]["total_months"]


def test_a_book_takes_only_a_later_revision_of_a_statement_it_holds():
    book = RetirementBook(P)
    apply_person(PersonLedger(P), book, person(run("440300", "2010-01", 12), [request()]), POLICIES)
    held = next(iter(book.issued.values())).statement
    assert not book.adopt(held)
    later = {**held, "revision": 2, "pension": {**held["pension"], "total_months": 13}}
    assert book.adopt(later) and next(iter(book.issued.values())).statement == later
    assert RetirementBook.from_bytes(book.to_bytes()).issued[held["request_id"]].statement == later
