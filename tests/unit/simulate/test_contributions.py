"""The simulated cities: deterministic, valid, eventful, streamed."""
from __future__ import annotations

import inspect
import itertools
from collections import Counter, defaultdict

from citybus.bus import Rejection, default_intake
from citybus.bus.publisher import CityPublisher
from citybus.catalog import default_catalog
from citybus.domain.ids import validate_resident_id
from citybus.simulate import WORKED_EXAMPLE_ID, WORKED_EXAMPLE_REQUEST, HistoryShape, contribution_history
from citybus.simulate.contributions import CONTRIBUTION, RETIREMENT
from tests.unit.domain.contributions.reference import reference_figures


def test_same_seed_same_history_other_seed_other_history():
    first = list(contribution_history(60, seed=3))
    assert first == list(contribution_history(60, seed=3))
    assert first != list(contribution_history(60, seed=4))


def test_worked_example_person_comes_first_with_the_specs_figures():
    events = list(itertools.islice(contribution_history(10), 173))
    assert {e.key for e in events} == {WORKED_EXAMPLE_ID}
    records = [e.record for e in events if e.full_name == CONTRIBUTION]
    (request,) = [e.record for e in events if e.full_name == RETIREMENT]
    assert request["request_id"] == WORKED_EXAMPLE_REQUEST
    figures = reference_figures(records, request)
    assert figures["pension"]["months_by_city"] == {"440300": 132, "442000": 39}
    assert figures["pension"]["payable_city"] == "440300"
    assert figures["pension"]["transfers"] == [
        {"from_city": "442000", "pooled_fund": "28080.00", "individual_account": "18720.00"}]


def test_history_has_every_kind_of_event_and_every_good_one_is_publishable():
    catalog = default_catalog()
    publishers = {c: CityPublisher(catalog, c, None) for c in catalog.city_codes}
    seen: Counter[str] = Counter()
    by_record: dict[tuple, list[dict]] = defaultdict(list)
    cities_of: dict[str, set[str]] = defaultdict(set)
    for event in contribution_history(400, seed=5):
        publishers[event.city].prepare(event.full_name, event.record)  # validates like a city system
        validate_resident_id(event.key)
        if event.full_name == RETIREMENT:
            seen["retirement"] += 1
            seen["hukou elsewhere"] += event.record["hukou_city"] != event.record["city"]
            continue
        r = event.record
        by_record[(r["city"], r["record_id"])].append(r)
        cities_of[r["resident_id"]].add(r["city"])
        seen[r["insured_kind"]] += 1
    for versions in by_record.values():
        revisions = [v["revision"] for v in versions]
        seen["redelivery"] += len(revisions) != len(set(revisions))
        seen["correction"] += any(v["revision"] > 1 and v["status"] == "ACTIVE" for v in versions)
        seen["reversal"] += any(v["status"] == "REVERSED" for v in versions)
    seen["several cities"] = sum(len(c) > 1 for c in cities_of.values())
    seen["duplicate months"] = sum(
        bool(reference_figures(events)["schemes"].get("PENSION", {}).get("duplicate_months"))
        for events in _per_person(by_record).values())
    for kind in ("EMPLOYEE", "RESIDENT", "retirement", "hukou elsewhere", "redelivery", "correction", "reversal",
                 "several cities", "duplicate months"):
        assert seen[kind] > 0, kind


def _per_person(by_record):
    people = defaultdict(list)
    for versions in by_record.values():
        people[versions[0]["resident_id"]] += versions
    return people


def test_bad_events_are_refused_by_the_intake_with_their_reason():
    intake = default_intake()
    bad = [e for e in contribution_history(200, seed=6, bad=True) if e.raw is not None]
    assert {e.reason_code for e in bad} == {"UNDECODABLE", "UNKNOWN_SCHEMA", "WRONG_TYPE", "INVALID_FIELD",
                                            "WRONG_CITY", "UNKNOWN_CITY", "REVISION_CONFLICT"}
    for event in bad:
        outcome = intake.check(event.topic, 0, 0, event.key.encode(), event.raw, [])
        if event.reason_code == "REVISION_CONFLICT":  # well-formed: the ledger finds the conflict
            assert not isinstance(outcome, Rejection)
        else:
            assert isinstance(outcome, Rejection) and outcome.reason_code == event.reason_code, event


def test_streams_events_one_by_one_with_bounded_memory():
    history = contribution_history(2000, shape=HistoryShape())
    assert inspect.isgenerator(history)  # a million events are never held at once
    assert sum(1 for _ in history) > 100_000
