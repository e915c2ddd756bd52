from migration_support import RID, SZ, ZS

from citybus.domain.migration import RelationLedger, SendCommand


def command(step, city, migration_id="m-1", scope="PENSION"):
    return SendCommand(f"{migration_id}/{scope}/{step}", migration_id, scope, step, "PERSON", RID, SZ, ZS, 1, 0, {}, city)


def test_a_command_is_applied_once_and_answered_the_same_way():
    ledger = RelationLedger([(SZ, RID, "PENSION")])
    first = ledger.apply(SZ, command("TRANSFER_OUT", SZ))
    assert first.outcome == "DONE" and first.package["from_city"] == SZ
    assert not ledger.holds(SZ, RID, "PENSION")
    assert ledger.apply(SZ, command("TRANSFER_OUT", SZ), "FAILED") == first  # a re-send: same reply


def test_a_refusal_is_remembered_and_applies_nothing():
    ledger = RelationLedger([(SZ, RID, "PENSION")])
    assert ledger.apply(SZ, command("TRANSFER_OUT", SZ), "REJECTED", "unpaid").reason == "unpaid"
    assert ledger.apply(SZ, command("TRANSFER_OUT", SZ)).outcome == "REJECTED"
    assert ledger.holders(RID, "PENSION") == {SZ}


def test_reverts_undo_what_was_applied_and_otherwise_do_nothing():
    ledger = RelationLedger([(SZ, RID, "PENSION")])
    assert ledger.apply(ZS, command("REVERT_IN", ZS, "m-0"), "FAILED").outcome == "DONE"  # nothing to undo
    ledger.apply(SZ, command("TRANSFER_OUT", SZ))
    ledger.apply(ZS, command("TRANSFER_IN", ZS))
    assert ledger.holders(RID, "PENSION") == {ZS}
    assert ledger.apply(ZS, command("REVERT_IN", ZS, "m-2")).outcome == "DONE"  # another migration's: no-op
    assert ledger.holders(RID, "PENSION") == {ZS}
    ledger.apply(ZS, command("REVERT_IN", ZS))
    ledger.apply(SZ, command("REVERT_OUT", SZ))
    assert ledger.holders(RID, "PENSION") == {SZ}


def test_a_city_cannot_give_what_it_does_not_hold_nor_take_what_it_has():
    ledger = RelationLedger([(ZS, RID, "PENSION")])
    assert ledger.apply(SZ, command("TRANSFER_OUT", SZ)).outcome == "REJECTED"
    assert ledger.apply(ZS, command("TRANSFER_IN", ZS)).outcome == "REJECTED"
    assert ledger.holders(RID, "PENSION") == {ZS}


def test_replies_are_per_city():
    ledger = RelationLedger()
    assert ledger.apply(SZ, command("PRECHECK", SZ), "REJECTED").outcome == "REJECTED"
    assert ledger.apply(ZS, command("PRECHECK", SZ)).outcome == "DONE"
    reply = ledger.reply(ZS, command("PRECHECK", ZS), 42)
    assert (reply.city, reply.outcome, reply.replied_at, reply.command_id) == (ZS, "DONE", 42, "m-1/PENSION/PRECHECK")


def test_holders_still_names_the_other_city_when_one_of_two_gives_a_relation_up():
    """The invariant's oracle: a relation held twice (a saga bug the tests must see) stays visible
    after one of the two holders releases it."""
    ledger = RelationLedger([(SZ, RID, "PENSION"), (ZS, RID, "PENSION")])
    assert ledger.holders(RID, "PENSION") == {SZ, ZS}
    ledger.apply(SZ, command("TRANSFER_OUT", SZ))
    assert ledger.holders(RID, "PENSION") == {ZS}
