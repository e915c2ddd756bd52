"""Lost, duplicated, late and stray replies; stale deadlines."""
import pytest
from migration_support import POLICY, RID, SZ, ZS, request

from citybus.domain.migration import DeadlineExpired, ReplyReceived, transition


def test_a_duplicate_reply_changes_nothing(start):
    run = start()
    reply = run.ledger.reply(ZS, run.sent(), run.now + 1)
    run.deliver(reply)
    after_first = run.state
    assert run.deliver(reply) == [] and run.state == after_first


def test_a_reply_to_an_earlier_attempt_counts(start):
    run = start()
    first = run.sent()
    run.expire(first)
    assert run.sent().attempt == 2
    run.answer(first)  # the city answers the first copy; same command_id
    assert run.sent().step == "TRANSFER_OUT" and run.steps()[0] == ("PRECHECK", "DONE", 2)
    assert run.answer(first) == []  # and its answer to the re-send is a duplicate


def test_a_lost_reply_is_recovered_by_the_resend(start):
    run = start()
    run.answer(run.sent(), lost=True)
    run.expire(run.sent())
    run.answer(run.sent())  # the city replays its first answer
    assert run.sent().step == "TRANSFER_OUT"


def test_a_late_done_of_a_timed_out_transfer_out_is_still_compensated(start):
    run = start()
    run.answer(run.sent())
    transfer_out = run.sent()
    late = run.ledger.reply(SZ, transfer_out, run.now + 1)  # applied; the reply is slow
    for _ in range(3):
        run.expire(run.sent())
    revert = run.sent()
    assert revert.step == "REVERT_OUT" and run.steps()[1][:2] == ("TRANSFER_OUT", "TIMED_OUT")
    deciding = run.state
    assert run.deliver(late) == [] and run.state == deciding  # no decision changes, no TRANSFER_IN
    run.answer(revert)
    assert run.scope_status() == "REVERTED" and run.ledger.holders(RID, "PENSION") == {SZ}
    assert run.deliver(late) == []  # later still: nothing


def test_a_late_done_of_a_timed_out_transfer_in_is_still_compensated(start):
    run = start()
    transfer_in = run.run_to_transfer_in()
    late = run.ledger.reply(ZS, transfer_in, run.now + 1)
    for _ in range(3):
        run.expire(run.sent())
    assert run.ledger.holders(RID, "PENSION") == {ZS}
    revert_in = run.sent("REVERT_IN")
    assert run.deliver(late) == [] and run.scope_status() == "REVERTING"
    run.answer(revert_in)
    run.answer(run.sent("REVERT_OUT"))
    assert run.scope_status() == "REVERTED" and run.ledger.holders(RID, "PENSION") == {SZ}


def test_a_late_answer_to_a_timed_out_precheck_changes_nothing(start):
    run = start()
    first = run.sent()
    for _ in range(3):
        run.expire(run.sent())
    decided = run.state
    assert decided.scope("PENSION").status == "FAILED"
    assert run.answer(first) == [] and run.state == decided


def test_a_revert_answered_twice_moves_on_once(start):
    run = start()
    run.answer(run.run_to_transfer_in(), "REJECTED")
    reply = run.ledger.reply(ZS, run.sent(), run.now + 1)
    run.deliver(reply)
    assert run.sent().step == "REVERT_OUT"
    moved_on = run.state
    assert run.deliver(reply) == [] and run.state == moved_on


@pytest.mark.parametrize(
    "change",
    [
        {"command_id": "m-1/PENSION/NOPE"},
        {"migration_id": "m-2"},
        {"city": SZ},  # the precheck was sent to the target city
        {"step": "TRANSFER_OUT"},
        {"outcome": "MAYBE"},
    ],
)
def test_a_stray_reply_is_ignored(start, change):
    run = start()
    command = run.sent()
    fields = dict(command_id=command.command_id, migration_id="m-1", scope="PENSION", step="PRECHECK",
                  city=ZS, outcome="DONE", reason=None, package={}, replied_at=run.now + 1)
    fields.update(change)
    before = run.state
    assert run.deliver(ReplyReceived(**fields)) == [] and run.state == before


def test_a_reply_for_an_unknown_saga_is_ignored():
    reply = ReplyReceived("m-9/PENSION/PRECHECK", "m-9", "PENSION", "PRECHECK", ZS, "DONE")
    assert transition(None, reply, POLICY) == (None, [])
    assert transition(None, DeadlineExpired("m-9", "x", 1), POLICY) == (None, [])


def test_stale_early_and_repeated_deadlines_are_ignored(start):
    run = start()
    command = run.sent()
    before = run.state
    assert run.feed(DeadlineExpired("m-1", command.command_id, command.deadline - 1)) == []
    assert run.feed(DeadlineExpired("m-1", "m-1/PENSION/TRANSFER_IN", command.deadline)) == []
    assert run.feed(DeadlineExpired("m-2", command.command_id, command.deadline)) == []
    assert run.state == before
    run.expire(command)
    resent = run.state
    assert run.feed(DeadlineExpired("m-1", command.command_id, command.deadline)) == []  # fired twice
    assert run.state == resent
    run.answer(command)
    assert run.feed(DeadlineExpired("m-1", command.command_id, 10**15)) == []  # answered since


def test_an_unknown_event_type_is_a_programming_error():
    with pytest.raises(TypeError):
        transition(None, object(), POLICY)  # type: ignore[arg-type]


def test_replies_to_one_scope_leave_the_others_alone(start):
    run = start(scopes=("PENSION", "MEDICAL"))
    pension, medical = run.sends()
    run.answer(medical, "REJECTED")
    assert run.scope_status("PENSION") == "IN_PROGRESS" and run.scope_status("MEDICAL") == "REJECTED"
    run.answer(pension)
    assert run.sent().scope == "PENSION" and run.state.status == "IN_PROGRESS"
    assert transition(run.state, request(), POLICY)[1] == []
