"""The most this service keeps for one resident, and why: at those limits a resident's summary, ledger
and statement book still fit in one Kafka record (a larger one stopped the worker at every replay)."""
from __future__ import annotations


from citybus.aggregation import RetirementBook, apply_person
from citybus.aggregation.outputs import summary_message
from citybus.domain.contributions import (
    MAX_ID_BYTES, MAX_RECORDS_PER_RESIDENT, MAX_REQUESTS_PER_RESIDENT, ApplyOutcome, PersonLedger,
)
from tests.unit.aggregation.test_batch import POLICIES, person
from tests.unit.domain.contributions.factories import P, rec, request, run

BROKER_DEFAULT = 1_048_588  # max.message.bytes of a topic that sets none, as bus.insurance.summaries
SERVICE_TOPICS = 4_194_304  # topics.yaml: bus.deadletter and the services' own topics (the changelogs)
RECORD_OVERHEAD = 512  # a record batch's header and the record's own fields, generously
TOP = "999999999999.99"  # the largest decimal(14,2)


def test_the_limits_are_the_ones_the_readme_promises():
    """The tests below work at the constants; these pin the constants to README's "Limits" (64
    bytes, 10,000 records, 100 requests), which callers plan on."""
    assert (MAX_ID_BYTES, MAX_RECORDS_PER_RESIDENT, MAX_REQUESTS_PER_RESIDENT) == (64, 10_000, 100)


def widest(i: int, **changes) -> object:
    """A record of one month, with the longest record_id and the widest amounts: one more refund."""
    fields = {"month": "2015-06", "record_id": f"{i:0{MAX_ID_BYTES}d}", "base": TOP, "employer": TOP, "employee": TOP}
    return rec(**{**fields, **changes})


def full_ledger() -> PersonLedger:
    ledger = PersonLedger(P)
    for i in range(MAX_RECORDS_PER_RESIDENT):
        assert ledger.apply(widest(i)).outcome is ApplyOutcome.APPLIED
    return ledger


def test_a_new_record_beyond_the_limit_is_refused_and_the_ledger_stays():
    ledger = full_ledger()
    summary = ledger.summary("PENSION")
    result = ledger.apply(widest(MAX_RECORDS_PER_RESIDENT))
    assert result.outcome is ApplyOutcome.FULL and result.changed_schemes == ()
    refused_id = f"{MAX_RECORDS_PER_RESIDENT:0{MAX_ID_BYTES}d}"
    assert str(MAX_RECORDS_PER_RESIDENT) in result.reason and refused_id in result.reason
    assert len(ledger.records) == MAX_RECORDS_PER_RESIDENT and ledger.summary("PENSION") == summary
    # a new revision of a kept record is no new record: still applied
    assert ledger.apply(widest(7, revision=2, employee="1.00")).changed_schemes == ("PENSION",)


def test_at_the_limits_a_summary_fits_the_brokers_default_and_a_ledger_a_service_topic():
    ledger = full_ledger()
    summary = ledger.summary("PENSION")
    assert len(summary.refunds) == MAX_RECORDS_PER_RESIDENT - 1
    _, key, value, headers = summary_message(P, "PENSION", summary, 0)
    size = len(key) + len(value) + sum(len(k) + len(v) for k, v in headers) + RECORD_OVERHEAD
    assert size <= BROKER_DEFAULT, size
    assert len(ledger.to_bytes()) + RECORD_OVERHEAD <= SERVICE_TOPICS


def test_requests_beyond_the_limit_are_refused_and_a_full_book_fits_a_service_topic():
    ledger, book = PersonLedger(P), RetirementBook(P)
    requests = [request(request_id=f"{i:0{MAX_ID_BYTES}d}") for i in range(MAX_REQUESTS_PER_RESIDENT + 2)]
    outcome = apply_person(ledger, book, person(run("440300", "2010-01", 180), requests), POLICIES)
    assert len(outcome.statements) == len(book.issued) == MAX_REQUESTS_PER_RESIDENT
    assert [(r.origin, r.reason_code) for r in outcome.rejected] == [
        (f"r{i}", "LIMIT_EXCEEDED") for i in (MAX_REQUESTS_PER_RESIDENT, MAX_REQUESTS_PER_RESIDENT + 1)]
    assert requests[-1].request_id in outcome.rejected[-1].reason
    assert len(book.to_bytes()) + RECORD_OVERHEAD <= SERVICE_TOPICS
    # a request already stated is answered as before, not refused
    again = apply_person(ledger, book, person([], [requests[0]]), POLICIES)
    assert again.rejected == [] and again.statements == []


def test_a_record_beyond_the_limit_is_dead_lettered_limit_exceeded():
    ledger, book = full_ledger(), RetirementBook(P)
    outcome = apply_person(ledger, book, person([widest(MAX_RECORDS_PER_RESIDENT), widest(3, revision=2)]), POLICIES)
    assert [(r.origin, r.reason_code) for r in outcome.rejected] == [("c0", "LIMIT_EXCEEDED")]
    assert outcome.ledger_changed and len(ledger.records) == MAX_RECORDS_PER_RESIDENT
