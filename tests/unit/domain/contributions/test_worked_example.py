"""contributions.md's worked example, with its exact numbers."""
from decimal import Decimal

from citybus.domain.contributions import PersonLedger, Refund, Transfer, retirement_statement

from .factories import P, request, run
from .reference import reference_figures

SHENZHEN = run("440300", "2010-01", 132, base="10000.00", employee="800.00")
ZHONGSHAN = run("442000", "2020-12", 40, base="6000.00", employee="480.00")


def test_worked_example():
    ledger = PersonLedger(P)
    for record in ZHONGSHAN + SHENZHEN:
        ledger.apply(record)
    summary = ledger.summary("PENSION")
    assert summary.total_months == 171
    assert summary.months_by_city == {"440300": 132, "442000": 39}
    assert summary.last_city == "442000"
    assert summary.refunds == (Refund("442000", "442000-PEN-2020-12", "2020-12", Decimal("480.00")),)

    statement = retirement_statement(ledger, request(city="442000", hukou_city="440300"))
    pension = statement.pension
    assert pension.total_months == 171 and pension.eligible is False
    assert pension.payable_city == "440300"
    assert pension.transfers == (Transfer("442000", Decimal("28080.00"), Decimal("18720.00")),)


def test_worked_example_by_the_reference():
    figures = reference_figures(SHENZHEN + ZHONGSHAN, request(city="442000", hukou_city="440300"))
    assert figures["pension"]["transfers"] == [
        {"from_city": "442000", "pooled_fund": "28080.00", "individual_account": "18720.00"}
    ]
    assert figures["schemes"]["PENSION"]["refunds"][0]["amount"] == "480.00"
