"""Contribution-record aggregation (contributions.md) as pure rules: records, the per-person
ledger, summaries, the retirement statement and their JSON views."""
from citybus.domain.contributions.ledger import ApplyOutcome, ApplyResult, PersonLedger, content_digest
from citybus.domain.contributions.records import (
    ACTIVE,
    EMPLOYEE,
    FIRST_MONTH,
    INSURED_KINDS,
    RESIDENT,
    REVERSED,
    SCHEMES,
    STATUSES,
    ContributionRecord,
    RetirementRequest,
    check_contribution,
    check_topic_city,
    validate_contribution,
    validate_retirement_request,
)
from citybus.domain.contributions.retirement import (
    PAYABLE_CITY_MONTHS,
    PENSION_ELIGIBLE_MONTHS,
    POOLED_FUND_FROM,
    payable_city,
    retirement_statement,
)
from citybus.domain.contributions.statement import (
    DEFAULT_MEDICAL_POLICY,
    MedicalFigures,
    MedicalPolicy,
    PensionFigures,
    RetirementStatement,
    Transfer,
)
from citybus.domain.contributions.stored import StoredRecord
from citybus.domain.contributions.summary import ContributionSummary, Refund
from citybus.domain.contributions.views import person_json, statement_json, summary_json

__all__ = [
    "ACTIVE",
    "REVERSED",
    "STATUSES",
    "EMPLOYEE",
    "RESIDENT",
    "INSURED_KINDS",
    "SCHEMES",
    "FIRST_MONTH",
    "ContributionRecord",
    "RetirementRequest",
    "validate_contribution",
    "check_contribution",
    "validate_retirement_request",
    "check_topic_city",
    "ApplyOutcome",
    "ApplyResult",
    "PersonLedger",
    "StoredRecord",
    "content_digest",
    "ContributionSummary",
    "Refund",
    "MedicalPolicy",
    "DEFAULT_MEDICAL_POLICY",
    "Transfer",
    "PensionFigures",
    "MedicalFigures",
    "RetirementStatement",
    "payable_city",
    "retirement_statement",
    "PENSION_ELIGIBLE_MONTHS",
    "PAYABLE_CITY_MONTHS",
    "POOLED_FUND_FROM",
    "summary_json",
    "person_json",
    "statement_json",
]
