import dataclasses
import zlib
from decimal import Decimal

import pytest

from citybus.domain.contributions import ApplyOutcome, PersonLedger, Refund, content_digest
from citybus.errors import ValidationError

from .factories import P, RECORDED_AT, rec, resident, run

A, U, C = ApplyOutcome.APPLIED, ApplyOutcome.UNCHANGED, ApplyOutcome.CONFLICT
R1 = rec(month="2015-06", employee="800.00")


def ledger_of(*records):
    ledger = PersonLedger(P)
    return ledger, [ledger.apply(r) for r in records]


@pytest.mark.parametrize(
    ("events", "outcomes", "kept_employee"),
    [
        pytest.param([R1], [A], "800.00", id="first"),
        pytest.param([R1, R1], [A, U], "800.00", id="redelivery"),
        pytest.param([R1, dataclasses.replace(R1, revision=2, employee_amount=Decimal("900.00"))], [A, A], "900.00",
                     id="correction"),
        pytest.param([dataclasses.replace(R1, revision=2, employee_amount=Decimal("900.00")), R1], [A, U], "900.00",
                     id="lower-revision-late"),
        pytest.param([R1, dataclasses.replace(R1, revision=3), dataclasses.replace(R1, revision=2)], [A, A, U],
                     "800.00", id="gap-then-lower"),
        pytest.param([R1, dataclasses.replace(R1, revision=2, status="REVERSED")], [A, A], None, id="reversal"),
        pytest.param([dataclasses.replace(R1, revision=2, status="REVERSED"), R1], [A, U], None,
                     id="reversal-first"),
        pytest.param([R1, dataclasses.replace(R1, revision=2, status="REVERSED"), dataclasses.replace(R1, revision=3)],
                     [A, A, A], "800.00", id="reinstated"),
    ],
)
def test_latest_revision_wins(events, outcomes, kept_employee):
    ledger, results = ledger_of(*events)
    assert [r.outcome for r in results] == outcomes
    summary = ledger.summary("PENSION")
    if kept_employee is None:
        assert summary is None and not ledger.has_effective_records()
    else:
        assert summary.total_months == 1
        assert ledger.records[("440300", R1.record_id)].employee_cents == int(Decimal(kept_employee) * 100)


# Every field of the content (all but the identity city/record_id and the revision), each changed alone.
# resident_id is not here: a ledger is one person's, so another resident_id never reaches it (see below).
CONTENT_CHANGES = {
    "status": {"status": "REVERSED"},
    "scheme": {"scheme": "MEDICAL"},
    "insured_kind": {"insured_kind": "RESIDENT"},
    "month": {"month": "2015-07"},
    "contribution_base": {"contribution_base": R1.contribution_base + Decimal("0.01")},
    "employer_amount": {"employer_amount": R1.employer_amount + Decimal("0.01")},
    "employee_amount": {"employee_amount": R1.employee_amount + Decimal("0.01")},
    "recorded_at": {"recorded_at": RECORDED_AT + 1},
}


def test_the_content_changes_cover_every_field_but_the_identity_and_the_revision():
    fields = {f.name for f in dataclasses.fields(R1)} - {"city", "record_id", "revision", "resident_id"}
    assert set(CONTENT_CHANGES) == fields


@pytest.mark.parametrize("change", CONTENT_CHANGES.values(), ids=list(CONTENT_CHANGES))
def test_the_same_revision_with_any_field_changed_is_a_conflict_and_the_first_stays(change):
    ledger, results = ledger_of(R1, dataclasses.replace(R1, **change))
    assert [r.outcome for r in results] == [A, C]
    alone, _ = ledger_of(R1)
    assert ledger == alone and ledger.summary("PENSION") == alone.summary("PENSION")


def test_the_same_revision_with_the_same_content_is_unchanged():
    ledger, results = ledger_of(R1, dataclasses.replace(R1))
    assert [r.outcome for r in results] == [A, U]


def test_the_digest_covers_the_resident_id():
    """Not observable through apply (a ledger refuses another person's record), but the digest is stored
    in every ledger's bytes: what it covers cannot change without turning redeliveries into conflicts."""
    assert content_digest(dataclasses.replace(R1, resident_id=resident(2))) != content_digest(R1)


@pytest.mark.parametrize("record", [R1, dataclasses.replace(R1, status="REVERSED", insured_kind="RESIDENT",
                                                            contribution_base=Decimal("12500.5"),
                                                            employer_amount=Decimal("0.07"))])
def test_the_digest_is_the_one_stored_ledgers_hold(record):
    """Stored ledgers keep the digest of each record's content as this formula made it: a different
    digest for the same content would turn every redelivery of a stored record into a conflict."""
    content = "|".join((record.status, record.resident_id, record.scheme, record.insured_kind, record.month,
                        str(int(record.contribution_base * 100)), str(int(record.employer_amount * 100)),
                        str(int(record.employee_amount * 100)), str(record.recorded_at)))
    assert content_digest(record) == zlib.crc32(content.encode())
    ledger = PersonLedger(record.resident_id)
    ledger.apply(record)
    (stored,) = ledger.records.values()
    assert stored.digest == zlib.crc32(content.encode())


def test_conflict_names_the_record():
    _, results = ledger_of(R1, dataclasses.replace(R1, employee_amount=Decimal("1.00")))
    assert results[1].outcome is C and R1.record_id in results[1].reason and results[1].changed_schemes == ()


@pytest.mark.parametrize(
    ("winner", "loser"),
    [
        pytest.param(rec(kind="EMPLOYEE", base="100.00", city="442000", record_id="Z"),
                     rec(kind="RESIDENT", base="9000.00", city="440300", record_id="A"), id="employee-before-resident"),
        pytest.param(rec(base="6000.01", city="442000", record_id="Z"),
                     rec(base="6000.00", city="440300", record_id="A"), id="higher-base"),
        pytest.param(rec(city="310000", record_id="Z"), rec(city="440300", record_id="A"), id="lower-city"),
        pytest.param(rec(record_id="A-10"), rec(record_id="A-9"), id="lower-record-id-plain-string-order"),
    ],
)
def test_month_precedence(winner, loser):
    for events in ([winner, loser], [loser, winner]):
        ledger, _ = ledger_of(*events)
        summary = ledger.summary("PENSION")
        assert summary.total_months == 1 and summary.duplicate_months == 1
        assert summary.last_city == winner.city and summary.months_by_city == {winner.city: 1}
        assert summary.refunds == (Refund(loser.city, loser.record_id, loser.month, loser.employee_amount),)


def test_reversing_the_retained_of_three_retains_the_next_in_order():
    first, second, third = (rec(city="440300", base="10000.00"), rec(city="442000", base="9000.00"),
                            rec(city="441900", base="8000.00"))
    ledger, _ = ledger_of(first, second, third, dataclasses.replace(first, revision=2, status="REVERSED"))
    summary = ledger.summary("PENSION")
    assert (summary.months_by_city, summary.last_city) == ({"442000": 1}, "442000")
    assert summary.refunds == (Refund("441900", third.record_id, third.month, third.employee_amount),)


def test_summary_fields():
    records = [
        *run("440300", "2010-01", 12, employee="800.00"),
        *run("442000", "2010-11", 4, base="3000.00", employee="240.00"),  # 2 duplicate months, then 2 retained
        rec(month="2010-12", city="441900", record_id="DG-1", base="1.00", employee="5.50"),
        rec(month="2010-12", city="441900", record_id="DG-0", base="1.00", employee="7.25", revision=2),
        rec(month="2010-06", scheme="MEDICAL"),
    ]
    ledger, _ = ledger_of(*records)
    summary = ledger.summary("PENSION")
    assert (summary.resident_id, summary.scheme) == (P, "PENSION")
    assert summary.total_months == 14
    assert summary.months_by_city == {"440300": 12, "442000": 2}
    assert list(summary.months_by_city) == ["440300", "442000"]
    assert (summary.first_month, summary.last_month, summary.last_city) == ("2010-01", "2011-02", "442000")
    assert summary.duplicate_months == 2
    assert summary.refunds == (
        Refund("442000", "442000-PEN-2010-11", "2010-11", Decimal("240.00")),
        Refund("441900", "DG-0", "2010-12", Decimal("7.25")),
        Refund("441900", "DG-1", "2010-12", Decimal("5.50")),
        Refund("442000", "442000-PEN-2010-12", "2010-12", Decimal("240.00")),
    )
    assert ledger.summary("MEDICAL").total_months == 1
    assert ledger.summary("MATERNITY") is None
    assert [s.scheme for s in ledger.summaries()] == ["PENSION", "MEDICAL"]


GAPPY = [rec(month="2010-01", record_id="A1"), rec(month="2010-03", record_id="B"), rec(month="2010-05", record_id="A5")]


@pytest.mark.parametrize(
    ("history", "event", "changed", "touched"),
    [
        pytest.param([], R1, ("PENSION",), ("PENSION",), id="first-record"),
        pytest.param([R1], R1, (), (), id="redelivery"),
        pytest.param([], dataclasses.replace(R1, status="REVERSED"), (), (), id="tombstone-first"),
        pytest.param([R1], dataclasses.replace(R1, revision=2, employer_amount=Decimal("1.00")), (), ("PENSION",),
                     id="employer-amount-only"),
        pytest.param([R1], dataclasses.replace(R1, revision=2, contribution_base=Decimal("1.00")), (), ("PENSION",),
                     id="base-of-a-lone-record"),
        pytest.param([R1, rec(month="2015-06", city="442000", base="1.00")],
                     rec(month="2015-06", city="442000", base="1.00", employee="1.00", revision=2),
                     ("PENSION",), ("PENSION",), id="refund-amount"),
        pytest.param([R1, rec(month="2015-06", city="442000", base="1.00")],
                     dataclasses.replace(R1, revision=2, contribution_base=Decimal("0.50")),
                     ("PENSION",), ("PENSION",), id="retained-record-loses-its-month"),
        pytest.param([R1, rec(month="2015-06", city="442000", base="1.00")],
                     rec(month="2015-06", city="442000", base="20000.00", revision=2),
                     ("PENSION",), ("PENSION",), id="refunded-record-wins-its-month"),
        pytest.param([R1, rec(month="2015-06", city="442000", base="1.00")],
                     dataclasses.replace(R1, revision=2, employee_amount=Decimal("1.00")),
                     (), ("PENSION",), id="retained-amount-in-a-duplicated-month"),
        pytest.param([R1], dataclasses.replace(R1, revision=2, scheme="MEDICAL"), ("PENSION", "MEDICAL"),
                     ("PENSION", "MEDICAL"), id="scheme-corrected"),
        pytest.param(GAPPY, dataclasses.replace(GAPPY[1], revision=2, month="2010-04"), (), ("PENSION",),
                     id="interior-month-moved"),
        pytest.param(GAPPY, dataclasses.replace(GAPPY[1], revision=2, month="2010-06"), ("PENSION",), ("PENSION",),
                     id="month-moved-to-the-end"),
        pytest.param(GAPPY, dataclasses.replace(GAPPY[1], revision=2, month="2010-05"), ("PENSION",), ("PENSION",),
                     id="month-moved-onto-another"),
    ],
)
def test_changed_schemes_are_exactly_the_changed_summaries(history, event, changed, touched):
    ledger, _ = ledger_of(*history)
    before = {s: ledger.summary(s) for s in ("PENSION", "MEDICAL")}
    result = ledger.apply(event)
    assert (result.changed_schemes, result.touched_schemes) == (changed, touched)
    assert tuple(s for s in ("PENSION", "MEDICAL") if ledger.summary(s) != before[s]) == changed


def test_a_record_of_another_person_is_refused():
    with pytest.raises(ValidationError, match="resident_id"):
        PersonLedger(P).apply(rec(resident_id=resident(2)))


def test_ledgers_are_equal_only_with_the_same_resident_and_the_same_kept_revisions():
    """The round-trip tests compare ledgers with ==: it must see a record's revision, a missing
    record and another resident."""
    ledger, _ = ledger_of(R1)
    assert ledger == ledger_of(R1)[0]
    assert ledger != PersonLedger(P)
    assert ledger != ledger_of(dataclasses.replace(R1, revision=2))[0]
    assert PersonLedger(P) != PersonLedger(resident(2))
    assert ledger != ledger.records
