"""The HTTP view, the stored form, and the deadlines the caller must fire."""
import json

from migration_support import DAY, RID, T0, request

from citybus.domain.migration import SagaState, rfc3339, saga_json, transition


def spec_example(start):
    run = start(scopes=("PENSION", "MEDICAL"))
    pension, medical = run.sends()
    run.now = T0 + 1_000
    run.answer(pension)
    pension_out = run.sent()
    run.answer(medical)
    medical_out = run.sent()
    run.answer(pension_out)
    pension_in = run.sent()
    run.answer(medical_out, "FAILED")
    run.answer(run.sent())  # REVERT_OUT
    run.answer(pension_in, lost=True)
    run.expire(pension_in)  # the first reply was lost: TRANSFER_IN attempt 2
    run.answer(run.sent())
    return run


def test_saga_json_is_the_http_view_of_the_spec(start):
    run = spec_example(start)
    view = saga_json(run.state)
    assert run.state.updated_at == run.now  # the last reply
    assert view == {
        "migration_id": "m-1", "subject_type": "PERSON", "subject_id": "440301199001011234",
        "from_city": "440300", "to_city": "442000", "status": "PARTIAL", "reason": None,
        "scopes": {
            "PENSION": {"status": "COMPLETED", "steps": [
                {"step": "PRECHECK", "city": "442000", "status": "DONE", "attempts": 1},
                {"step": "TRANSFER_OUT", "city": "440300", "status": "DONE", "attempts": 1},
                {"step": "TRANSFER_IN", "city": "442000", "status": "DONE", "attempts": 2},
            ]},
            "MEDICAL": {"status": "REVERTED", "steps": [
                {"step": "PRECHECK", "city": "442000", "status": "DONE", "attempts": 1},
                {"step": "TRANSFER_OUT", "city": "440300", "status": "FAILED", "attempts": 1},
                {"step": "TRANSFER_IN", "city": "442000", "status": "PENDING", "attempts": 0},
                {"step": "REVERT_OUT", "city": "440300", "status": "DONE", "attempts": 1},
            ]},
        },
        "requested_at": "2026-11-22T08:00:00Z", "updated_at": "2026-11-22T08:00:16.004Z",
    }
    assert json.loads(json.dumps(view)) == view
    assert list(view) == ["migration_id", "subject_type", "subject_id", "from_city", "to_city", "status",
                          "reason", "scopes", "requested_at", "updated_at"]


def test_rfc3339():
    assert rfc3339(T0) == "2026-11-22T08:00:00Z"
    assert rfc3339(T0 + 3_000) == "2026-11-22T08:00:03Z"
    assert rfc3339(T0 + 7) == "2026-11-22T08:00:00.007Z"
    assert rfc3339(0) == "1970-01-01T00:00:00Z"


def test_a_refused_request_has_a_view_too():
    state, _ = transition(None, request(subject_id="bad"))
    view = saga_json(state)
    assert view["status"] == "REJECTED" and "subject_id" in view["reason"] and view["scopes"] == {}


def test_state_round_trips_through_json_at_every_stage(start):
    run = start(scopes=("PENSION", "MEDICAL"))
    seen = [run.state]
    pension, medical = run.sends()
    run.answer(medical, "REJECTED")
    seen.append(run.state)
    run.answer(pension)
    seen.append(run.state)
    run.answer(run.sent())
    seen.append(run.state)
    run.answer(run.sent(), "FAILED")
    seen.append(run.state)
    for _ in range(4):
        run.expire(run.sent())
        seen.append(run.state)  # NEEDS_ATTENTION
    refused, _ = transition(None, request(subject_type="ROBOT", scopes=("X",)))
    for state in [*seen, refused]:
        stored = json.loads(json.dumps(state.to_dict()))
        assert SagaState.from_dict(stored) == state
        assert SagaState.from_dict(stored).to_dict() == state.to_dict()
    assert seen[-1].scope("PENSION").status == "NEEDS_ATTENTION"


def test_next_deadline_is_the_earliest_pending_one(start):
    run = start(scopes=("PENSION", "MEDICAL"))
    pension, medical = run.sends()
    assert run.state.pending_deadlines() == [(T0 + 10 * DAY, medical.command_id), (T0 + 15 * DAY, pension.command_id)]
    assert run.state.next_deadline() == (T0 + 10 * DAY, medical.command_id)
    assert run.state.expiries_due(T0 + 10 * DAY - 1) == []
    (due,) = run.state.expiries_due(T0 + 12 * DAY)
    assert (due.migration_id, due.command_id, due.at) == ("m-1", medical.command_id, T0 + 12 * DAY)
    run.answer(medical, "REJECTED")
    assert run.state.next_deadline() == (T0 + 15 * DAY, pension.command_id)
    run.answer(pension, "REJECTED")
    assert run.state.next_deadline() is None and run.state.final


def test_status_record_matches_the_wire_fields(start):
    run = start()
    record = run.published[0].record()
    assert record == {
        "migration_id": "m-1", "subject_type": "PERSON", "subject_id": RID, "from_city": "440300",
        "to_city": "442000", "status": "IN_PROGRESS", "reason": None,
        "scopes": [{"scope": "PENSION", "status": "IN_PROGRESS", "step": "PRECHECK"}], "updated_at": T0,
    }
    assert set(run.sent().record()) == {"command_id", "migration_id", "scope", "step", "subject_type", "subject_id",
                                        "from_city", "to_city", "attempt", "deadline", "package"}
    assert json.dumps(run.sent().record())
