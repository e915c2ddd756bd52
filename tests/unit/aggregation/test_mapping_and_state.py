"""Outbound mapping (summary and statement records as the schemas fix them) and stored state."""
from __future__ import annotations

import dataclasses
from decimal import Decimal

from citybus.aggregation import RetirementBook
from citybus.aggregation.cache import MISSING, LruCache
from citybus.codec import decode, encode
from citybus.codec.mapping.insurance import cleared_summary_to_avro, statement_to_avro, summary_to_avro
from citybus.codec.mapping.time import utc
from citybus.domain.contributions import PersonLedger, retirement_statement
from tests.unit.domain.contributions.factories import P, request, run

NOW = 1_760_000_000_123


def example_ledger() -> PersonLedger:
    ledger = PersonLedger(P)
    for record in run("440300", "2010-01", 132) + run("442000", "2020-12", 40, base="6000.00", employee="480.00"):
        ledger.apply(record)
    return ledger


def test_summary_record_round_trips_through_the_schema():
    summary = example_ledger().summary("PENSION")
    _, record = decode(encode("citybus.insurance.ContributionSummary", summary_to_avro(summary, NOW)))
    assert record == {
        "resident_id": P, "scheme": "PENSION", "total_months": 171, "months_by_city": {"440300": 132, "442000": 39},
        "first_month": "2010-01", "last_month": "2024-03", "last_city": "442000", "duplicate_months": 1,
        "refunds": [{"city": "442000", "record_id": "442000-PEN-2020-12", "month": "2020-12",
                     "amount": Decimal("480.00")}],
        "updated_at": utc(NOW),
    }


def test_cleared_summary_has_no_months_and_null_month_fields():
    _, record = decode(encode("citybus.insurance.ContributionSummary", cleared_summary_to_avro(P, "MEDICAL", NOW)))
    assert (record["total_months"], record["months_by_city"], record["first_month"], record["last_city"],
            record["refunds"]) == (0, {}, None, None, [])


def test_statement_record_round_trips_through_the_schema():
    statement = retirement_statement(example_ledger(), request(), revision=3)
    _, record = decode(encode("citybus.insurance.RetirementStatement", statement_to_avro(statement, NOW)))
    assert record["revision"] == 3 and record["issued_at"] == utc(NOW)
    assert record["pension"] == {
        "total_months": 171, "months_by_city": {"440300": 132, "442000": 39}, "eligible": False,
        "payable_city": "440300",
        "transfers": [{"from_city": "442000", "pooled_fund": Decimal("28080.00"),
                       "individual_account": Decimal("18720.00")}],
    }
    assert record["medical"] == {"total_months": 0, "local_months": 0, "required_total_months": 300,
                                 "required_local_months": 120, "eligible": False, "shortfall_months": 300}


def test_retirement_book_round_trips():
    book = RetirementBook(P)
    statement = retirement_statement(example_ledger(), request(), revision=2)
    view = book.record(request(), statement)
    again = RetirementBook.from_bytes(book.to_bytes())
    assert again.resident_id == P and again.issued == book.issued
    assert again.issued["r-1"].revision == 2 and again.issued["r-1"].statement == view
    assert not again.issued["r-1"].differs_from(statement)
    assert again.issued["r-1"].differs_from(dataclasses.replace(statement, hukou_city="442000"))


def test_lru_cache_drops_the_least_recently_used():
    cache: LruCache[int] = LruCache(2)
    cache.put("a", 1)
    cache.put("b", 2)
    assert cache.get("a") == 1  # a is now the most recent
    cache.put("c", 3)
    assert cache.get("b") is MISSING and cache.peek("a") == 1 and len(cache) == 2
    cache.clear()
    assert cache.get("a") is MISSING
