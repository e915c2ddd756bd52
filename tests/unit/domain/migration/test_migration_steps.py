"""Each step refused, failed and timed out; retries; both compensations; NEEDS_ATTENTION."""
import pytest
from migration_support import DAY, RID, SZ, T0, ZS

from citybus.domain.migration import DeadlineExpired, PublishStatus, ReplyReceived, SagaPolicy, SendCommand


def test_every_step_done_completes_and_hands_the_package_on(start):
    run = start()
    precheck = run.sent()
    run.answer(precheck)
    transfer_out = run.sent()
    assert (transfer_out.step, transfer_out.city, transfer_out.package) == ("TRANSFER_OUT", SZ, {})
    run.answer(transfer_out)
    transfer_in = run.sent()
    assert (transfer_in.step, transfer_in.city) == ("TRANSFER_IN", ZS)
    assert transfer_in.package == {"subject_id": RID, "scope": "PENSION", "from_city": SZ}
    assert transfer_in.deadline == run.now + 15 * DAY
    run.answer(transfer_in)
    assert run.commands == [run.published[-1]] and run.published[-1].status == "COMPLETED"
    assert run.steps() == [("PRECHECK", "DONE", 1), ("TRANSFER_OUT", "DONE", 1), ("TRANSFER_IN", "DONE", 1)]
    assert run.state.pending_deadlines() == [] and run.ledger.holders(RID, "PENSION") == {ZS}


@pytest.mark.parametrize(("outcome", "scope_status"), [("REJECTED", "REJECTED"), ("FAILED", "FAILED")])
def test_precheck_refused_or_failed_ends_the_scope_with_nothing_moved(start, outcome, scope_status):
    run = start()
    run.answer(run.sent(), outcome, "no acceptance letter")
    assert run.sends() == []
    assert run.scope_status() == scope_status and run.state.status == "FAILED"
    assert run.state.scope("PENSION").reason == f"PRECHECK {outcome}: no acceptance letter"
    assert run.steps()[0] == ("PRECHECK", outcome, 1)
    assert run.ledger.holders(RID, "PENSION") == {SZ}


def test_a_silent_step_is_resent_with_the_same_id_then_times_out(start):
    run = start(scopes=("MEDICAL",))
    first = run.sent()
    assert (first.attempt, first.deadline) == (1, T0 + 10 * DAY)
    run.expire(first)
    second = run.sent()
    assert (second.command_id, second.attempt, second.deadline) == (first.command_id, 2, first.deadline + 10 * DAY)
    assert run.published == run.published[:1]  # a re-send is not a status change
    run.expire(second)
    third = run.sent()
    assert (third.attempt, third.deadline) == (3, second.deadline + 10 * DAY)
    run.expire(third)
    assert run.sends() == [] and run.steps("MEDICAL")[0] == ("PRECHECK", "TIMED_OUT", 3)
    assert run.scope_status("MEDICAL") == "FAILED" and run.state.status == "FAILED"
    assert run.state.scope("MEDICAL").reason == "PRECHECK TIMED_OUT"


def test_max_attempts_is_configurable(start):
    run = start(policy=SagaPolicy(max_attempts=1, working_day_ms=DAY))
    run.expire(run.sent())
    assert run.scope_status() == "FAILED" and run.steps()[0] == ("PRECHECK", "TIMED_OUT", 1)


def test_deadlines_use_the_time_the_deadline_fired(start):
    run = start()
    late = run.sent().deadline + 7 * DAY  # the orchestrator was down for a while
    run.feed(DeadlineExpired("m-1", run.sent().command_id, late))
    assert run.sent().deadline == late + 15 * DAY and run.state.updated_at == late


@pytest.mark.parametrize("outcome", ["REJECTED", "FAILED", "TIMED_OUT"])
def test_transfer_out_not_done_is_reverted_at_the_source(start, outcome):
    run = start()
    run.answer(run.sent())
    transfer_out = run.sent()
    if outcome == "TIMED_OUT":
        run.answer(transfer_out, lost=True)  # applied at the source, every reply lost
        for _ in range(3):
            run.expire(run.sent())
        assert run.ledger.holders(RID, "PENSION") == set()  # in neither city, for now
    else:
        run.answer(transfer_out, outcome)
    revert = run.sent()
    assert (revert.step, revert.city, revert.attempt, revert.command_id) == ("REVERT_OUT", SZ, 1, "m-1/PENSION/REVERT_OUT")
    assert run.scope_status() == "REVERTING" and run.steps()[1][:2] == ("TRANSFER_OUT", outcome)
    assert run.steps()[2] == ("TRANSFER_IN", "PENDING", 0)  # never sent, never reverted
    run.answer(revert)
    assert run.scope_status() == "REVERTED" and run.state.status == "FAILED" and run.sends() == []
    assert run.ledger.holders(RID, "PENSION") == {SZ}


@pytest.mark.parametrize("outcome", ["REJECTED", "FAILED", "TIMED_OUT"])
def test_transfer_in_not_done_reverts_in_at_the_target_then_out_at_the_source(start, outcome):
    run = start()
    transfer_in = run.run_to_transfer_in()
    if outcome == "TIMED_OUT":
        run.answer(transfer_in, lost=True)  # applied at the target, reply lost
        run.expire(transfer_in)
        run.answer(run.sent(), lost=True)
        run.expire(run.sent())
        run.expire(run.sent())
        assert run.ledger.holders(RID, "PENSION") == {ZS}
    else:
        run.answer(transfer_in, outcome)
    revert_in = run.sent()
    assert (revert_in.step, revert_in.city) == ("REVERT_IN", ZS)
    assert revert_in.package == transfer_in.package
    assert run.scope_status() == "REVERTING"
    run.answer(revert_in)
    revert_out = run.sent()  # only once the target let go
    assert (revert_out.step, revert_out.city) == ("REVERT_OUT", SZ)
    assert run.scope_status() == "REVERTING"
    run.answer(revert_out)
    assert run.scope_status() == "REVERTED"
    assert [s[:2] for s in run.steps()] == [
        ("PRECHECK", "DONE"), ("TRANSFER_OUT", "DONE"), ("TRANSFER_IN", outcome),
        ("REVERT_IN", "DONE"), ("REVERT_OUT", "DONE"),
    ]
    assert run.ledger.holders(RID, "PENSION") == {SZ}


def test_an_unanswered_revert_needs_attention_and_is_retried_until_done(start):
    run = start()
    run.answer(run.run_to_transfer_in(), "FAILED")
    revert_in = run.sent()
    statuses = []
    for attempt in range(1, 7):
        assert (run.sent().attempt, run.sent().command_id) == (attempt, revert_in.command_id)
        statuses.append(run.scope_status())
        run.expire(run.sent())
    # attempt k is sent once k - 1 deadlines went unanswered: "more than max_attempts (3)" from attempt 5
    assert statuses == ["REVERTING"] * 4 + ["NEEDS_ATTENTION"] * 2
    assert run.sent().attempt == 7 and run.state.status == "IN_PROGRESS"
    assert [p.scopes[0].status for p in run.published][-2:] == ["REVERTING", "NEEDS_ATTENTION"]
    run.answer(run.sent())
    assert run.scope_status() == "REVERTING" and run.sent().step == "REVERT_OUT"
    assert run.steps()[3] == ("REVERT_IN", "DONE", 7)
    run.answer(run.sent())
    assert run.scope_status() == "REVERTED" and run.state.status == "FAILED"


def test_a_revert_answered_out_of_contract_is_flagged_and_retried(start):
    run = start()
    run.answer(run.sent())
    run.answer(run.sent(), "REJECTED")
    revert = run.sent()
    run.feed(ReplyReceived.answering(revert, SZ, "FAILED", run.now, "disk full"))
    assert run.scope_status() == "NEEDS_ATTENTION" and run.steps()[3][:2] == ("REVERT_OUT", "FAILED")
    assert run.state.next_deadline() == (revert.deadline, revert.command_id)
    run.expire(revert)
    assert run.sent().attempt == 2 and run.scope_status() == "REVERTING"
    run.answer(run.sent())
    assert run.scope_status() == "REVERTED"


def test_status_is_published_on_every_change_with_the_current_step(start):
    run = start()
    run.answer(run.sent())
    run.answer(run.sent())
    run.answer(run.sent(), "REJECTED")
    run.answer(run.sent())
    run.answer(run.sent())
    seen = [(p.status, p.scopes[0].status, p.scopes[0].step) for p in run.published]
    assert seen == [
        ("IN_PROGRESS", "IN_PROGRESS", "PRECHECK"),
        ("IN_PROGRESS", "IN_PROGRESS", "TRANSFER_OUT"),
        ("IN_PROGRESS", "IN_PROGRESS", "TRANSFER_IN"),
        ("IN_PROGRESS", "REVERTING", "REVERT_IN"),
        ("IN_PROGRESS", "REVERTING", "REVERT_OUT"),
        ("FAILED", "REVERTED", "REVERT_OUT"),
    ]
    assert all(isinstance(c, (SendCommand, PublishStatus)) for c in run.commands)
    assert run.published[-1].updated_at == run.now and run.published[0].updated_at == T0
