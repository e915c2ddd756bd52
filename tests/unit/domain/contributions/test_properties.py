"""Rule 4 and the state encoding, on generated histories, against the plain reference."""
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from citybus.domain.contributions import ApplyOutcome, PersonLedger, person_json, retirement_statement, statement_json

from .factories import P
from .histories import POLICIES, REQUESTS, deliveries, histories
from .reference import conflicts, reference_figures

SCHEMES = ("PENSION", "MEDICAL", "UNEMPLOYMENT", "WORK_INJURY", "MATERNITY")
FAST = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def replay(events, ledger=None):
    ledger = ledger or PersonLedger(P)
    results = [ledger.apply(e) for e in events]
    return ledger, results


def everything(ledger, request, policies):
    statement = retirement_statement(ledger, request, policies)
    return person_json(P, ledger.summaries()), statement_json(statement), ledger.to_bytes()


@FAST
@given(st.data(), histories(), REQUESTS, POLICIES)
def test_any_order_and_any_redelivery_give_the_same_figures(data, events, request, policies):
    canonical, _ = replay(events)
    delivered, _ = replay(data.draw(deliveries(events)))
    assert delivered == canonical
    assert everything(delivered, request, policies) == everything(canonical, request, policies)


@FAST
@given(st.data(), histories(conflicts=True), REQUESTS, POLICIES)
def test_the_ledger_agrees_with_the_reference(data, events, request, policies):
    delivered = data.draw(deliveries(events))
    ledger, results = replay(delivered)
    assert [r.outcome is ApplyOutcome.CONFLICT for r in results] == conflicts(delivered)
    expected = reference_figures(delivered, request, policies)
    statement = statement_json(retirement_statement(ledger, request, policies))
    assert person_json(P, ledger.summaries())["schemes"] == expected["schemes"]
    assert (statement["pension"], statement["medical"]) == (expected["pension"], expected["medical"])


@FAST
@given(histories())
def test_bytes_round_trip_exactly(events):
    ledger, _ = replay(events)
    copy = PersonLedger.from_bytes(ledger.to_bytes())
    assert copy == ledger
    assert copy.records == ledger.records
    assert copy.to_bytes() == ledger.to_bytes()
    assert [copy.summary(s) for s in SCHEMES] == [ledger.summary(s) for s in SCHEMES]


@FAST
@given(st.data(), histories(conflicts=True))
def test_a_serialize_boundary_anywhere_changes_nothing(data, events):
    delivered = data.draw(deliveries(events))
    cut = data.draw(st.integers(0, len(delivered)))
    whole, whole_results = replay(delivered)
    first, first_results = replay(delivered[:cut])
    resumed, rest_results = replay(delivered[cut:], PersonLedger.from_bytes(first.to_bytes()))
    assert first_results + rest_results == whole_results
    assert resumed == whole and resumed.summaries() == whole.summaries()


@settings(max_examples=80, deadline=None)
@given(st.data(), histories(max_length=12, conflicts=True))
def test_changed_schemes_are_exactly_the_summaries_that_changed(data, events):
    ledger = PersonLedger(P)
    for event in data.draw(deliveries(events)):
        before = {s: ledger.summary(s) for s in SCHEMES}
        result = ledger.apply(event)
        assert set(result.changed_schemes) == {s for s in SCHEMES if ledger.summary(s) != before[s]}
        fresh = PersonLedger.from_bytes(ledger.to_bytes())
        assert [fresh.summary(s) for s in SCHEMES] == [ledger.summary(s) for s in SCHEMES]
