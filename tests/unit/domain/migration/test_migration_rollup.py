import pytest
from migration_support import RID, SZ, ZS

from citybus.domain.migration import MigrationStatus, ScopeState, ScopeStatus, roll_up


def scopes(*statuses):
    return [ScopeState("PENSION", ScopeStatus(s), ()) for s in statuses]


@pytest.mark.parametrize(
    ("statuses", "expected"),
    [
        (["COMPLETED"], "COMPLETED"),
        (["COMPLETED", "COMPLETED"], "COMPLETED"),
        (["COMPLETED", "REVERTED"], "PARTIAL"),
        (["REJECTED", "COMPLETED", "FAILED"], "PARTIAL"),
        (["REJECTED", "FAILED", "REVERTED"], "FAILED"),
        (["REJECTED"], "FAILED"),
        (["COMPLETED", "IN_PROGRESS"], "IN_PROGRESS"),
        (["COMPLETED", "REVERTING"], "IN_PROGRESS"),
        (["FAILED", "NEEDS_ATTENTION"], "IN_PROGRESS"),
        (["PENDING"], "IN_PROGRESS"),
    ],
)
def test_roll_up(statuses, expected):
    assert roll_up(scopes(*statuses)) == MigrationStatus(expected)


def test_some_scopes_moved_is_partial(start):
    run = start(scopes=("PENSION", "MEDICAL", "PROVIDENT_FUND"))
    pension, medical, fund = run.sends()
    run.answer(fund, "FAILED")
    run.answer(pension)
    pension_out = run.sent()
    run.answer(medical)
    medical_out = run.sent()
    run.answer(pension_out)
    run.answer(run.sent())  # pension in
    run.answer(medical_out)
    run.answer(run.sent(), "REJECTED")  # medical in
    assert run.state.status == "IN_PROGRESS"
    run.answer(run.sent("REVERT_IN"))
    run.answer(run.sent("REVERT_OUT"))
    assert [s.status for s in run.state.scopes] == ["COMPLETED", "REVERTED", "FAILED"]
    assert run.state.status == "PARTIAL" and run.state.reason is None
    assert run.ledger.holders(RID, "PENSION") == {ZS} and run.ledger.holders(RID, "MEDICAL") == {SZ}
    assert run.published[-1].status == "PARTIAL"
