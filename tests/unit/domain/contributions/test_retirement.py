from decimal import Decimal

import pytest

from citybus.domain.contributions import MedicalPolicy, PersonLedger, Transfer, retirement_statement
from citybus.errors import ValidationError

from .factories import P, rec, request, resident, run


def statement_for(records, city="442000", hukou="440300", policies=None, revision=1):
    ledger = PersonLedger(P)
    for record in records:
        ledger.apply(record)
    return retirement_statement(ledger, request(city=city, hukou_city=hukou), policies, revision)


@pytest.mark.parametrize(
    ("records", "hukou", "payable"),
    [
        pytest.param(run("442000", "1995-01", 200) + run("440300", "2012-01", 10), "440300", "440300",
                     id="1-last-city-is-hukou"),
        pytest.param(run("440300", "1995-01", 50) + run("442000", "2000-01", 120), "440300", "442000",
                     id="2-last-city-has-120"),
        pytest.param(run("440300", "1995-01", 130) + run("442000", "2010-01", 119), "440300", "440300",
                     id="2-last-city-has-119-so-on"),
        pytest.param(run("441900", "1991-01", 130) + run("310000", "2001-01", 125) + run("442000", "2016-01", 10),
                     "440300", "310000", id="3-latest-other-city-first"),
        pytest.param(run("441900", "1991-01", 130) + run("310000", "2001-01", 100) + run("442000", "2016-01", 10),
                     "440300", "441900", id="3-an-earlier-city-when-the-latest-has-too-few"),
        pytest.param(run("441900", "1991-01", 130) + run("310000", "2002-01", 125) + run("441900", "2015-01", 1)
                     + run("442000", "2016-01", 10),
                     "440300", "441900", id="3-latest-by-its-last-month-not-its-first"),
        pytest.param(run("440300", "1991-01", 130) + run("310000", "2001-01", 125) + run("442000", "2016-01", 10),
                     "440300", "310000", id="3-hukou-gets-no-preference"),
        pytest.param(run("441900", "1991-01", 119) + run("442000", "2001-01", 119), "440300", "440300",
                     id="4-nobody-has-120"),
        pytest.param(run("442000", "2001-01", 200, scheme="MEDICAL"), "320500", "320500", id="no-pension-months"),
    ],
)
def test_payable_city(records, hukou, payable):
    pension = statement_for(records, hukou=hukou).pension
    assert pension.payable_city == payable
    assert [t.from_city for t in pension.transfers] == sorted(
        c for c in pension.months_by_city if c != payable
    )


@pytest.mark.parametrize(
    ("total", "eligible"), [(179, False), (180, True)]
)
def test_pension_eligibility_at_180_months(total, eligible):
    assert statement_for(run("442000", "2000-01", total)).pension.eligible is eligible


@pytest.mark.parametrize(
    ("records", "pooled", "individual"),
    [
        pytest.param(run("442000", "1997-11", 4, base="1000.00", employee="10.00"), "240.00", "40.00",
                     id="1998-cut-off"),
        pytest.param(run("442000", "1997-01", 12, base="1000.00"), "0.00", "9600.00", id="all-before-1998"),
        pytest.param(run("442000", "2000-01", 3, base="0.05", employee="0.00"), "0.02", "0.00",
                     id="rounded-once-not-per-month"),  # per month: 3 x round(0.006) = 0.03
        pytest.param(run("442000", "2000-01", 1, base="0.13"), "0.02", "800.00", id="half-up-0.0156"),
        pytest.param(run("442000", "2000-01", 1, base="0.04"), "0.00", "800.00", id="down-0.0048"),
        pytest.param(run("442000", "2000-01", 2, base="12345.67", employee="0.01"), "2962.96", "0.02",
                     id="2962.9608"),
    ],
)
def test_transfer_amounts(records, pooled, individual):
    pension = statement_for(records + run("440300", "2010-01", 130)).pension
    assert pension.payable_city == "440300"
    assert pension.transfers == (Transfer("442000", Decimal(pooled), Decimal(individual)),)


def test_transfers_count_retained_months_only():
    duplicate = rec(month="2011-01", city="442000", base="1.00", employee="999.00")
    pension = statement_for(run("440300", "2010-01", 130) + [duplicate] + run("442000", "2021-01", 2)).pension
    assert pension.transfers == (Transfer("442000", Decimal("2400.00"), Decimal("1600.00")),)


MEDICAL_HERE = run("442000", "2000-01", 100, scheme="MEDICAL")
MEDICAL_THERE = run("440300", "1990-01", 120, scheme="MEDICAL")


@pytest.mark.parametrize(
    ("records", "policies", "expected"),
    [
        pytest.param(MEDICAL_HERE + MEDICAL_THERE, None, (220, 100, 300, 120, False, 80), id="defaults"),
        pytest.param(MEDICAL_HERE + MEDICAL_THERE, {"440300": MedicalPolicy(1, 1)}, (220, 100, 300, 120, False, 80),
                     id="another-city's-policy-is-ignored"),
        pytest.param(MEDICAL_HERE + MEDICAL_THERE, {"442000": MedicalPolicy(200, 60)}, (220, 100, 200, 60, True, 0),
                     id="registry-policy-met"),
        pytest.param(MEDICAL_HERE + MEDICAL_THERE, {"442000": MedicalPolicy(220, 100)}, (220, 100, 220, 100, True, 0),
                     id="exactly-met"),
        pytest.param(MEDICAL_HERE + MEDICAL_THERE, {"442000": MedicalPolicy(200, 130)}, (220, 100, 200, 130, False, 30),
                     id="local-short"),
        pytest.param(MEDICAL_HERE + MEDICAL_THERE, {"442000": MedicalPolicy(250, 90)}, (220, 100, 250, 90, False, 30),
                     id="total-short"),
        pytest.param([], None, (0, 0, 300, 120, False, 300), id="no-medical-months"),
        pytest.param(run("442000", "2000-01", 10), None, (0, 0, 300, 120, False, 300), id="pension-is-not-medical"),
    ],
)
def test_medical(records, policies, expected):
    m = statement_for(records, city="442000", policies=policies).medical
    figures = (m.total_months, m.local_months, m.required_total_months, m.required_local_months,
               m.eligible, m.shortfall_months)
    assert figures == expected


def test_same_figures_ignores_revision_and_sees_any_figure():
    records = run("440300", "2010-01", 130) + run("442000", "2021-01", 3)
    first = statement_for(records, revision=1)
    assert first.same_figures(statement_for(records, revision=2))
    assert first != statement_for(records, revision=2)
    later = statement_for(records + [rec(month="2021-02", city="442000", revision=2, employee="1.00")])
    assert not first.same_figures(later)
    assert first.figures != later.figures


def test_request_for_another_person_is_refused():
    with pytest.raises(ValidationError, match="resident_id"):
        retirement_statement(PersonLedger(resident(2)), request())


MAX = "999999999999.99"  # decimal(14,2)


def test_transfer_amounts_up_to_decimal_14_2_are_stated():
    pension = statement_for(run("442000", "2000-01", 1, base=MAX, employee=MAX) + run("440300", "2010-01", 130)).pension
    assert pension.transfers == (Transfer("442000", Decimal("120000000000.00"), Decimal(MAX)),)


@pytest.mark.parametrize(("fields", "name"), [
    pytest.param({"employee": "500000000000.00"}, "individual_account", id="individual-account-of-9-months"),
    pytest.param({"base": MAX, "employee": "0.00"}, "pooled_fund", id="pooled-fund-of-9-months"),
])
def test_a_transfer_amount_beyond_decimal_14_2_is_refused_by_name(fields, name):
    """Every record fits decimal(14,2); their sum need not, and the statement's field cannot hold it."""
    records = run("442000", "2000-01", 9, **fields) + run("440300", "2010-01", 130)
    with pytest.raises(ValidationError) as caught:
        statement_for(records)
    assert caught.value.field == f"pension.transfers[442000].{name}"
    assert "decimal(14,2)" in caught.value.rule
