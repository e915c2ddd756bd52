import json

from citybus.domain.contributions import PersonLedger, person_json, retirement_statement, statement_json

from .factories import P, rec, request, run


def test_statement_json_is_the_spec_example():
    ledger = PersonLedger(P)
    for record in (
        run("440300", "2000-01", 130, base="3000.00")
        + run("442000", "2012-01", 70, base="1000.00", employee="80.00")
        + run("440300", "1996-01", 180, scheme="MEDICAL")
        + run("442000", "2012-01", 70, scheme="MEDICAL")
    ):
        ledger.apply(record)
    statement = retirement_statement(ledger, request(request_id="r-1", city="442000", hukou_city="440300"))
    assert json.loads(json.dumps(statement_json(statement))) == {
        "request_id": "r-1", "resident_id": P, "city": "442000", "hukou_city": "440300",
        "revision": 1,
        "pension": {"total_months": 200, "months_by_city": {"440300": 130, "442000": 70}, "eligible": True,
                    "payable_city": "440300",
                    "transfers": [{"from_city": "442000", "pooled_fund": "8400.00", "individual_account": "5600.00"}]},
        "medical": {"total_months": 250, "local_months": 70, "required_total_months": 300,
                    "required_local_months": 120, "eligible": False, "shortfall_months": 50},
    }


def test_person_json_has_the_spec_shape_and_only_effective_schemes():
    ledger = PersonLedger(P)
    for record in (
        run("440300", "2010-01", 100)
        + run("442000", "2022-05", 23)
        + [rec(month="2020-03", city="442000", record_id="ZS-77", base="2100.00", employee="210.00")]
        + [rec(month="2020-04", scheme="MATERNITY", status="REVERSED")]
    ):
        ledger.apply(record)
    body = person_json(P, [ledger.summary(s) for s in ("MATERNITY", "PENSION", "MEDICAL")])
    assert json.loads(json.dumps(body)) == {
        "resident_id": P,
        "schemes": {
            "PENSION": {"total_months": 124, "months_by_city": {"440300": 100, "442000": 24},
                        "first_month": "2010-01", "last_month": "2024-03", "last_city": "442000",
                        "duplicate_months": 0, "refunds": []}
        },
    }
    ledger.apply(rec(month="2020-03", city="441900", record_id="DG-1", base="1.00", employee="210.5"))
    refunds = person_json(P, ledger.summaries())["schemes"]["PENSION"]["refunds"]
    assert refunds == [{"city": "441900", "record_id": "DG-1", "month": "2020-03", "amount": "210.50"}]


def test_person_json_without_effective_records_is_empty():
    assert person_json(P, [None, None]) == {"resident_id": P, "schemes": {}}
