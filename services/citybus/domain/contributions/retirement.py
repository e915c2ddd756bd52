"""The retirement statement: pension (payable city, transfers) and medical eligibility."""
from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal

from citybus.domain.contributions.ledger import PersonLedger
from citybus.domain.contributions.records import RetirementRequest
from citybus.domain.contributions.statement import (
    DEFAULT_MEDICAL_POLICY,
    MedicalFigures,
    MedicalPolicy,
    PensionFigures,
    RetirementStatement,
    Transfer,
)
from citybus.domain.ids import month_index, to_money
from citybus.errors import ValidationError

__all__ = [
    "payable_city",
    "retirement_statement",
    "PENSION_ELIGIBLE_MONTHS",
    "PAYABLE_CITY_MONTHS",
    "POOLED_FUND_FROM",
]

PENSION_ELIGIBLE_MONTHS = 180
PAYABLE_CITY_MONTHS = 120
POOLED_FUND_FROM = "1998-01"
_POOLED_FROM_INDEX = month_index(POOLED_FUND_FROM)
_POOLED_PERCENT = 12


def payable_city(
    months_by_city: Mapping[str, int], last_month_by_city: Mapping[str, int], last_city: str | None, hukou_city: str
) -> str:
    """国办发〔2009〕66号 as contributions.md states it; `last_month_by_city` holds month indexes."""
    if last_city is None or last_city == hukou_city:
        return hukou_city
    if months_by_city[last_city] >= PAYABLE_CITY_MONTHS:
        return last_city
    others = sorted((c for c in months_by_city if c != last_city), key=last_month_by_city.__getitem__, reverse=True)
    return next((c for c in others if months_by_city[c] >= PAYABLE_CITY_MONTHS), hukou_city)


def _pension(ledger: PersonLedger, hukou_city: str) -> PensionFigures:
    claims = ledger.retained_claims("PENSION")
    months: dict[str, int] = {}
    last: dict[str, int] = {}
    pooled_base: dict[str, int] = {}
    individual: dict[str, int] = {}
    for month, (_, _, city, _, employee_cents, base_cents) in claims.items():
        months[city] = months.get(city, 0) + 1
        last[city] = max(last.get(city, month), month)
        if month >= _POOLED_FROM_INDEX:
            pooled_base[city] = pooled_base.get(city, 0) + base_cents
        individual[city] = individual.get(city, 0) + employee_cents
    last_city = claims[max(claims)][2] if claims else None
    payable = payable_city(months, last, last_city, hukou_city)
    transfers = tuple(
        Transfer(
            from_city=city,
            # 12% of the base sum, rounded half-up once: (x * 12 + 50) // 100 on cents, x >= 0
            pooled_fund=_money((pooled_base.get(city, 0) * _POOLED_PERCENT + 50) // 100, city, "pooled_fund"),
            individual_account=_money(individual[city], city, "individual_account"),
        )
        for city in sorted(months)
        if city != payable
    )
    total = len(claims)
    return PensionFigures(total, dict(sorted(months.items())), total >= PENSION_ELIGIBLE_MONTHS, payable, transfers)


def _money(amount_cents: int, city: str, name: str) -> Decimal:
    """A transfer amount, which must fit the statement's decimal(14,2) like every amount on the bus:
    sums of valid records can exceed it, and then the statement cannot be written (ValidationError)."""
    return to_money(Decimal(amount_cents).scaleb(-2), f"pension.transfers[{city}].{name}")


def _medical(ledger: PersonLedger, city: str, policy: MedicalPolicy) -> MedicalFigures:
    claims = ledger.retained_claims("MEDICAL")
    total = len(claims)
    local = sum(1 for claim in claims.values() if claim[2] == city)
    need_total, need_local = policy.required_total_months, policy.required_local_months
    return MedicalFigures(
        total_months=total,
        local_months=local,
        required_total_months=need_total,
        required_local_months=need_local,
        eligible=total >= need_total and local >= need_local,
        shortfall_months=max(need_total - total, need_local - local, 0),
    )


def retirement_statement(
    ledger: PersonLedger,
    request: RetirementRequest,
    policies: Mapping[str, MedicalPolicy] | None = None,
    revision: int = 1,
) -> RetirementStatement:
    """Built from everything the ledger holds now. `policies`: city -> MedicalPolicy from the
    participant registry; a city absent from it gets DEFAULT_MEDICAL_POLICY. Raises ValidationError
    when a transfer amount exceeds decimal(14,2) (the statement could not be encoded)."""
    if request.resident_id != ledger.resident_id:
        raise ValidationError("resident_id", f"does not match the ledger of {ledger.resident_id}", request.resident_id)
    policy = (policies or {}).get(request.city, DEFAULT_MEDICAL_POLICY)
    return RetirementStatement(
        request_id=request.request_id,
        resident_id=request.resident_id,
        city=request.city,
        hukou_city=request.hukou_city,
        revision=revision,
        pension=_pension(ledger, request.hukou_city),
        medical=_medical(ledger, request.city, policy),
    )
