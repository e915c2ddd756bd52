import pytest

from migration_support import DG, ENT, KNOWN, POLICY, RID, RID2, SZ, T0, ZS, Run, request

from citybus.domain.migration import (
    MigrationStatus,
    PublishStatus,
    ScopeStatus,
    SendCommand,
    SubjectRegistry,
    accept_request,
    household_moved_to_request,
    transition,
    validate_request,
)
from citybus.errors import ValidationError


@pytest.mark.parametrize(
    ("fields", "field", "rule"),
    [
        ({"subject_id": RID[:-1] + ("0" if RID[-1] != "0" else "1")}, "subject_id", "GB 11643: check character"),
        ({"subject_id": "4403011990"}, "subject_id", "GB 11643: must be 18 characters"),
        ({"subject_type": "ENTERPRISE", "subject_id": RID, "scopes": ()}, "subject_id", "GB 32100"),
        ({"subject_type": "ROBOT"}, "subject_type", "must be PERSON or ENTERPRISE"),
        ({"from_city": "999999"}, "from_city", "not a city in the participant registry"),
        ({"to_city": "44-300"}, "to_city", "6-digit"),
        ({"to_city": SZ}, "to_city", "must differ from from_city"),
        ({"scopes": ("PENSION", "TAX_REGISTRATION")}, "scopes", "TAX_REGISTRATION is not a scope of PERSON"),
        ({"subject_type": "ENTERPRISE", "scopes": ("HOUSEHOLD",)}, "scopes", "HOUSEHOLD is not a scope of ENTERPRISE"),
        ({"scopes": ("PENSIONS",)}, "scopes", "'PENSIONS' is not a scope"),
        ({"migration_id": " "}, "migration_id", "non-empty"),
    ],
)
def test_a_request_breaking_a_field_rule_is_rejected_naming_the_rule(fields, field, rule):
    req = request(**fields)
    with pytest.raises(ValidationError) as caught:
        validate_request(req, KNOWN)
    assert caught.value.field == field and rule in caught.value.rule

    state, commands = transition(None, req, POLICY)
    assert state.status == MigrationStatus.REJECTED
    assert field in state.reason and rule in state.reason
    assert state.reason.startswith(caught.value.reason_code + ": ")
    assert state.pending_deadlines() == []
    (published,) = commands  # nothing sent to any city
    assert isinstance(published, PublishStatus) and published.status == "REJECTED" and published.reason == state.reason


def test_an_unknown_city_carries_its_reason_code():
    state, _ = transition(None, request(from_city="999999"), POLICY)
    assert state.reason.startswith("UNKNOWN_CITY: from_city")


def test_without_a_registry_only_the_form_of_a_city_is_checked():
    state, _ = transition(None, request(from_city="999999"))
    assert state.status == MigrationStatus.IN_PROGRESS


@pytest.mark.parametrize(
    ("subject_type", "expected"),
    [("PERSON", ["HOUSEHOLD", "PENSION", "MEDICAL", "PROVIDENT_FUND"]), ("ENTERPRISE", ["TAX_REGISTRATION"])],
)
def test_empty_scopes_mean_every_scope_of_the_subject_type(subject_type, expected):
    state, commands = transition(None, request(subject_type=subject_type, scopes=()), POLICY)
    assert [s.scope for s in state.scopes] == expected
    assert [c.scope for c in commands if isinstance(c, SendCommand)] == expected


def test_a_repeated_scope_asks_for_nothing_more():
    state, _ = transition(None, request(scopes=("MEDICAL", "PENSION", "MEDICAL")), POLICY)
    assert [s.scope for s in state.scopes] == ["MEDICAL", "PENSION"]


def test_a_request_sends_each_precheck_to_the_city_of_the_scope_table():
    state, commands = transition(None, request(scopes=("PENSION", "MEDICAL")), POLICY)
    sends = [c for c in commands if isinstance(c, SendCommand)]
    assert [(c.scope, c.step, c.city, c.attempt, c.deadline) for c in sends] == [
        ("PENSION", "PRECHECK", ZS, 1, T0 + 15 * 1000),
        ("MEDICAL", "PRECHECK", ZS, 1, T0 + 10 * 1000),
    ]
    assert sends[0].topic == f"city.{ZS}.commands" and sends[0].key == RID
    assert sends[0].command_id == "m-1/PENSION/PRECHECK"
    assert (sends[0].from_city, sends[0].to_city, sends[0].subject_type) == (SZ, ZS, "PERSON")
    assert state.status == MigrationStatus.IN_PROGRESS
    assert [s.status for s in state.scopes] == [ScopeStatus.IN_PROGRESS] * 2
    assert isinstance(commands[-1], PublishStatus) and commands[-1].topic == "bus.migration.status"


def test_tax_precheck_is_the_source_bureaus_clearance(start):
    run = start(subject_type="ENTERPRISE", scopes=())
    assert [(c.step, c.city) for c in run.sends()] == [("PRECHECK", SZ)]
    run.answer(run.sent())
    assert (run.sent().step, run.sent().city) == ("TRANSFER_OUT", SZ)
    run.answer(run.sent())
    assert (run.sent().step, run.sent().city) == ("TRANSFER_IN", ZS)
    run.answer(run.sent())
    assert run.state.status == "COMPLETED" and run.ledger.holders(ENT, "TAX_REGISTRATION") == {ZS}


def test_a_known_migration_id_starts_nothing_new(start):
    run = start()
    before = run.state
    assert transition(before, request(), POLICY) == (before, [])
    assert transition(before, request(to_city=DG), POLICY) == (before, [])
    registry = SubjectRegistry().track(before)
    assert accept_request(before, request(), registry, POLICY) == (before, [], registry)


def test_accept_request_registers_and_refuses_conflicts():
    registry = SubjectRegistry()
    first, commands, registry = accept_request(None, request("m-1", scopes=("PENSION", "MEDICAL")), registry, POLICY)
    assert first.status == "IN_PROGRESS" and registry.holding(RID) == {"PENSION": "m-1", "MEDICAL": "m-1"}

    second, commands, after = accept_request(None, request("m-2", scopes=("MEDICAL", "HOUSEHOLD")), registry, POLICY)
    assert second.status == MigrationStatus.REJECTED and second.reason == "CONFLICT: m-1"
    assert [s.status for s in second.scopes] == [ScopeStatus.REJECTED] * 2
    assert [type(c) for c in commands] == [PublishStatus] and after == registry

    other, _, registry = accept_request(None, request("m-3", scopes=("HOUSEHOLD",)), registry, POLICY)
    assert other.status == "IN_PROGRESS"
    everyone, _, _ = accept_request(None, request("m-4", scopes=()), registry, POLICY)
    assert everyone.reason in ("CONFLICT: m-1", "CONFLICT: m-3")
    elsewhere, _, _ = accept_request(None, request("m-5", subject_id=RID2), registry, POLICY)
    assert elsewhere.status == "IN_PROGRESS"


def test_a_conflict_on_a_later_scope_of_the_request_is_found():
    """Every requested scope is checked, not only the first: here the first one is free."""
    _, _, registry = accept_request(None, request("m-1", scopes=("MEDICAL",)), SubjectRegistry(), POLICY)
    refused, _, _ = accept_request(None, request("m-2", scopes=("PENSION", "MEDICAL")), registry, POLICY)
    assert (refused.status, refused.reason) == (MigrationStatus.REJECTED, "CONFLICT: m-1")


def test_a_scope_refused_before_any_step_ran_shows_its_first_step():
    """The status record's `step` is the current or last step (migration.md); a scope refused as a
    conflict ran none, so it shows PRECHECK, not a later step that would read as progress."""
    _, _, registry = accept_request(None, request("m-1", scopes=("MEDICAL",)), SubjectRegistry(), POLICY)
    _, commands, _ = accept_request(None, request("m-2", scopes=("MEDICAL",)), registry, POLICY)
    (status,) = commands
    assert status.record()["scopes"] == [{"scope": "MEDICAL", "status": "REJECTED", "step": "PRECHECK"}]


def test_final_scopes_are_released(start):
    run = start(scopes=("PENSION", "MEDICAL"))
    registry = SubjectRegistry().track(run.state)
    run.answer(run.sends()[1], "REJECTED")  # MEDICAL precheck refused: scope final
    registry = registry.track(run.state)
    assert registry.holding(RID) == {"PENSION": "m-1"}
    medical, _, registry = accept_request(None, request("m-2", scopes=("MEDICAL",)), registry, POLICY)
    assert medical.status == "IN_PROGRESS"
    assert registry.conflict(RID, ["PENSION"]) == "m-1" and registry.conflict(RID, ["MEDICAL"]) == "m-2"
    assert SubjectRegistry.from_dict(registry.to_dict()) == registry


def test_an_invalid_request_is_refused_before_any_conflict_check():
    registry = SubjectRegistry().track(transition(None, request("m-1"), POLICY)[0])
    refused, commands, after = accept_request(None, request("m-2", to_city=SZ), registry, POLICY)
    assert refused.status == "REJECTED" and "must differ from from_city" in refused.reason
    assert refused.scopes == () and after == registry and len(commands) == 1


def test_household_move_starts_the_rest_of_the_move():
    req = household_moved_to_request("77", RID, SZ, ZS, T0)
    assert (req.migration_id, req.subject_type, req.subject_id, req.from_city, req.to_city, req.requested_at) == (
        "move-77", "PERSON", RID, SZ, ZS, T0,
    )
    assert req.scopes == ("PENSION", "MEDICAL", "PROVIDENT_FUND")
    state, commands, registry = accept_request(None, req, SubjectRegistry(), POLICY)
    assert [c.scope for c in commands if isinstance(c, SendCommand)] == ["PENSION", "MEDICAL", "PROVIDENT_FUND"]
    redelivered = household_moved_to_request("77", RID, SZ, ZS, T0 + 5)
    assert accept_request(state, redelivered, registry, POLICY) == (state, [], registry)


def test_run_fixture_grants_relations(start):
    run: Run = start(scopes=("PENSION",))
    assert run.ledger.holders(RID, "PENSION") == {SZ}
