"""JSON views of summaries and statements, shaped exactly as contributions.md's HTTP examples."""
from __future__ import annotations

from collections.abc import Callable, Iterable
from decimal import Decimal
from typing import Any

from citybus.domain.contributions.records import SCHEMES
from citybus.domain.contributions.statement import RetirementStatement
from citybus.domain.contributions.summary import ContributionSummary
from citybus.domain.ids import money_str

__all__ = ["summary_json", "person_json", "statement_json"]


def summary_json(summary: ContributionSummary) -> dict[str, Any]:
    return {
        "total_months": summary.total_months,
        "months_by_city": dict(summary.months_by_city),
        "first_month": summary.first_month,
        "last_month": summary.last_month,
        "last_city": summary.last_city,
        "duplicate_months": summary.duplicate_months,
        "refunds": [
            {"city": r.city, "record_id": r.record_id, "month": r.month, "amount": money_str(r.amount)}
            for r in summary.refunds
        ],
    }


def person_json(resident_id: str, summaries: Iterable[ContributionSummary | None]) -> dict[str, Any]:
    """Only schemes with at least one effective record appear, in the order of SCHEMES."""
    by_scheme = {s.scheme: s for s in summaries if s is not None}
    return {
        "resident_id": resident_id,
        "schemes": {scheme: summary_json(by_scheme[scheme]) for scheme in SCHEMES if scheme in by_scheme},
    }


def statement_json(statement: RetirementStatement, money: Callable[[Decimal], Any] = money_str) -> dict[str, Any]:
    """The statement's fields as contributions.md shows them; amounts through `money` (strings
    for JSON; the Avro mapping passes the Decimals through and adds `issued_at`)."""
    pension, medical = statement.pension, statement.medical
    return {
        "request_id": statement.request_id,
        "resident_id": statement.resident_id,
        "city": statement.city,
        "hukou_city": statement.hukou_city,
        "revision": statement.revision,
        "pension": {
            "total_months": pension.total_months,
            "months_by_city": dict(pension.months_by_city),
            "eligible": pension.eligible,
            "payable_city": pension.payable_city,
            "transfers": [
                {
                    "from_city": t.from_city,
                    "pooled_fund": money(t.pooled_fund),
                    "individual_account": money(t.individual_account),
                }
                for t in pension.transfers
            ],
        },
        "medical": {
            "total_months": medical.total_months,
            "local_months": medical.local_months,
            "required_total_months": medical.required_total_months,
            "required_local_months": medical.required_local_months,
            "eligible": medical.eligible,
            "shortfall_months": medical.shortfall_months,
        },
    }
