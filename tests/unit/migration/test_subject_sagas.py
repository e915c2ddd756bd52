"""The orchestrator's pure parts: a subject's sagas as one table value, the deadline index, HTTP rules."""
from __future__ import annotations

import pytest

from citybus.domain.ids import resident_id_check_char
from citybus.domain.migration import (
    MigrationRequested,
    PublishStatus,
    ReplyReceived,
    SagaPolicy,
    SendCommand,
)
from citybus.errors import ValidationError
from citybus.migration.deadlines import DeadlineIndex
from citybus.migration.http_api import request_from_body
from citybus.migration.subjects import SubjectSagas
from citybus.migration.wire import outbound, request_out

CITIES = frozenset({"440300", "442000", "441900"})
POLICY = SagaPolicy(max_attempts=2, working_day_ms=100, known_cities=CITIES)
PERSON = "44030119850607123" + resident_id_check_char("44030119850607123")


def request(migration_id: str = "m-1", scopes: tuple[str, ...] = ("PENSION",), at: int = 1_000) -> MigrationRequested:
    return MigrationRequested(migration_id, "PERSON", PERSON, "440300", "442000", scopes, at, "test")


def answer(command: SendCommand, outcome: str = "DONE", at: int = 1_050) -> ReplyReceived:
    return ReplyReceived.answering(command, command.city, outcome, at)


def sends(outcome) -> list[SendCommand]:  # noqa: ANN001
    return [c for c in outcome.commands if isinstance(c, SendCommand)]


def test_a_request_starts_a_saga_and_claims_its_scopes() -> None:
    outcome = SubjectSagas(PERSON, 3).on_request(request(), POLICY)
    assert [c.step for c in sends(outcome)] == ["PRECHECK"]
    assert any(isinstance(c, PublishStatus) for c in outcome.commands)
    assert outcome.subject.held == {"PENSION": "m-1"}
    assert outcome.subject.next_deadline() == 1_000 + 15 * 100  # PENSION PRECHECK: 15 working days
    assert [s.migration_id for s in outcome.changed] == ["m-1"]


def test_a_known_migration_id_starts_nothing() -> None:
    subject = SubjectSagas(PERSON).on_request(request(), POLICY).subject
    again = subject.on_request(request(at=5_000), POLICY)
    assert again.commands == [] and again.changed == [] and again.subject == subject


def test_a_request_on_a_held_scope_is_rejected_as_a_conflict() -> None:
    subject = SubjectSagas(PERSON).on_request(request(), POLICY).subject
    outcome = subject.on_request(request("m-2", ("PENSION", "MEDICAL")), POLICY)
    assert sends(outcome) == []
    assert outcome.subject.sagas["m-2"].reason == "CONFLICT: m-1"
    assert outcome.subject.held == {"PENSION": "m-1"}


def test_replies_drive_the_saga_to_completion_and_release_the_scope() -> None:
    outcome = SubjectSagas(PERSON).on_request(request(), POLICY)
    for _ in range(3):
        (command,) = sends(outcome)
        outcome = outcome.subject.on_reply(answer(command), POLICY)
    assert outcome.subject.sagas["m-1"].status == "COMPLETED"
    assert outcome.subject.held == {}
    assert outcome.subject.next_deadline() is None


def test_a_reply_for_an_unknown_migration_changes_nothing() -> None:
    subject = SubjectSagas(PERSON)
    stray = ReplyReceived("x/PENSION/PRECHECK", "x", "PENSION", "PRECHECK", "442000", "DONE")
    outcome = subject.on_reply(stray, POLICY)
    assert outcome.subject == subject and outcome.commands == []


def test_a_tick_resends_past_deadlines_and_a_stale_tick_does_nothing() -> None:
    subject = SubjectSagas(PERSON).on_request(request(), POLICY).subject
    assert subject.on_tick(2_499, POLICY).commands == []  # not due yet
    outcome = subject.on_tick(2_500, POLICY)
    (resend,) = sends(outcome)
    assert (resend.step, resend.attempt, resend.command_id) == ("PRECHECK", 2, "m-1/PENSION/PRECHECK")
    assert outcome.subject.on_tick(2_500, POLICY).commands == []  # the same tick again: stale
    timed_out = outcome.subject.on_tick(10_000, POLICY)
    assert timed_out.subject.sagas["m-1"].status == "FAILED"
    assert timed_out.subject.held == {}


def test_the_table_value_round_trips_through_bytes() -> None:
    subject = SubjectSagas(PERSON, 5).on_request(request(), POLICY).subject
    again = SubjectSagas.from_bytes(subject.to_bytes())
    assert again == subject
    assert SubjectSagas.load(subject.to_bytes(), PERSON, 2).partition == 2
    assert SubjectSagas.load(None, PERSON, 4) == SubjectSagas(PERSON, 4)


def test_past_its_budget_a_subject_forgets_its_oldest_finished_migrations_first() -> None:
    subject = SubjectSagas(PERSON).on_request(request(), POLICY).subject  # m-1 in progress, holding PENSION
    for i in range(40):  # each REJECTED (CONFLICT: m-1): finished
        subject = subject.on_request(request(f"c-{39 - i:02d}", at=2_000 + i), POLICY).subject
    whole = subject.to_bytes()
    assert subject.fitted(len(whole)) == (subject, whole)
    budget = len(whole) - 5_000
    kept, raw = subject.fitted(budget)
    assert len(raw) <= budget and raw == kept.to_bytes()
    forgotten = set(subject.sagas) - set(kept.sagas)
    oldest_first = [f"c-{39 - i:02d}" for i in range(40)]  # requested (and finished) in this order
    assert forgotten == set(oldest_first[:len(forgotten)])
    one_fewer = {m: s for m, s in subject.sagas.items() if m not in oldest_first[:len(forgotten) - 1]}
    assert len(SubjectSagas(PERSON, subject.partition, subject.held, one_fewer).to_bytes()) > budget  # no more than needed
    assert kept.held == {"PENSION": "m-1"} and "m-1" in kept.sagas
    assert kept.forgotten == len(forgotten) and SubjectSagas.from_bytes(raw) == kept


def test_a_migration_in_progress_is_never_forgotten() -> None:
    subject = SubjectSagas(PERSON).on_request(request(), POLICY).subject
    kept, raw = subject.fitted(10)
    assert kept == subject and raw == subject.to_bytes()


def test_outbound_records_are_keyed_as_the_contract_says() -> None:
    outcome = SubjectSagas(PERSON).on_request(request(), POLICY)
    command, status = outcome.commands
    assert outbound(command)[:2] == ("city.442000.commands", PERSON.encode())
    assert outbound(status)[:2] == ("bus.migration.status", b"m-1")
    assert dict(outbound(status).headers)["ce_source"] == b"/bus/migration"
    assert request_out(request())[:2] == ("bus.migration.requests", PERSON.encode())


def test_the_deadline_index_ticks_once_per_retick_window() -> None:
    index = DeadlineIndex(retick_ms=500)
    assert index.stale  # a new index is read from the table before its first scan
    index.rebuild([("a", 1, 100), ("b", 2, None), ("c", 3, 900)])
    assert not index.stale  # and only then: a rebuild would forget which ticks were sent
    assert index.due(100) == [("a", 1)]
    assert index.due(200) == []  # its tick is on the way
    assert index.due(599) == []
    assert index.due(600) == [("a", 1)]  # retick_ms after the last tick
    index.track("a", 1, None)
    assert sorted(index.due(1_000)) == [("c", 3)]
    index.forget()
    assert index.stale


@pytest.mark.parametrize(("body", "field"), [
    ([], "body"),
    ({"subject_type": "PERSON"}, "subject_id"),
    ({"subject_type": "PERSON", "subject_id": PERSON, "from_city": "440300", "to_city": "440300"}, "to_city"),
    ({"subject_type": "PERSON", "subject_id": PERSON, "from_city": "440300", "to_city": "999999"}, "to_city"),
    ({"subject_type": "PERSON", "subject_id": PERSON, "from_city": "440300", "to_city": "442000",
      "scopes": ["TAX_REGISTRATION"]}, "scopes"),
    ({"subject_type": "PERSON", "subject_id": PERSON[:-1] + "0", "from_city": "440300", "to_city": "442000"},
     "subject_id"),
    ({"subject_type": "PERSON", "subject_id": PERSON, "from_city": "440300", "to_city": "442000",
      "migration_id": " "}, "migration_id"),
    ({"subject_type": "PERSON", "subject_id": PERSON, "from_city": "440300", "to_city": "442000",
      "migration_id": "m" * 129}, "migration_id"),
])
def test_http_bodies_that_break_a_rule_name_it(body: object, field: str) -> None:
    with pytest.raises(ValidationError) as caught:
        request_from_body(body, 0, CITIES)
    assert caught.value.field == field


@pytest.mark.parametrize("scopes", ["", "PENSION", False, 0, {}], ids=repr)
def test_scopes_that_are_not_a_list_are_refused_not_read_as_every_scope(scopes: object) -> None:
    """Only an absent (or null) `scopes` means every scope (migration.md: `"scopes"?`); an empty
    string or a false value from a form is bad input, not a request to move every relation."""
    body = {"subject_type": "PERSON", "subject_id": PERSON, "from_city": "440300", "to_city": "442000",
            "scopes": scopes}
    with pytest.raises(ValidationError) as caught:
        request_from_body(body, 0, CITIES)
    assert caught.value.field == "scopes" and "list" in caught.value.rule


@pytest.mark.parametrize("body", [{}, {"scopes": None}, {"scopes": []}], ids=repr)
def test_no_scopes_mean_every_scope(body: dict) -> None:
    body = {"subject_type": "PERSON", "subject_id": PERSON, "from_city": "440300", "to_city": "442000", **body}
    assert request_from_body(body, 0, CITIES).scopes == ()


def test_an_http_body_without_an_id_gets_one() -> None:
    body = {"subject_type": "PERSON", "subject_id": PERSON, "from_city": "440300", "to_city": "442000"}
    made = request_from_body(body, 42, CITIES, new_id=lambda: "m-new")
    assert (made.migration_id, made.requested_at, made.requested_by, made.scopes) == ("m-new", 42, "http", ())
