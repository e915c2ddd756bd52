"""A deliberately plain reference for contributions.md: dicts, sorting, Decimal; no cleverness.

`reference_figures(events, request=None, policy=None)` takes the events in delivery order
(ContributionRecord objects or Avro-style dicts) and returns what the bus must show:

    {"schemes": {scheme: <summary JSON>},           # as in GET /contributions/{id}
     "pension": {...}, "medical": {...}}            # as in GET /retirements/{id}, with a request

It imports nothing from citybus, so it can check the ledger, and the services end to end.
"""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

SCHEMES = ("PENSION", "MEDICAL", "UNEMPLOYMENT", "WORK_INJURY", "MATERNITY")
FIELDS = ("record_id", "revision", "status", "city", "scheme", "insured_kind", "month",
          "contribution_base", "employee_amount")


def _fields(event: Any) -> dict[str, Any]:
    get = event.__getitem__ if isinstance(event, Mapping) else lambda name: getattr(event, name)
    out = {name: get(name) for name in FIELDS}
    out["contribution_base"] = Decimal(str(out["contribution_base"]))
    out["employee_amount"] = Decimal(str(out["employee_amount"]))
    return out


def _money(amount: Decimal) -> str:
    return str(amount.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP))


def _precedence(record: dict[str, Any]) -> tuple:
    return (record["insured_kind"] != "EMPLOYEE", -record["contribution_base"], record["city"], record["record_id"])


def kept_records(events: Iterable[Any]) -> dict[tuple[str, str], dict[str, Any]]:
    """Rule 1: highest revision per (city, record_id); of equal revisions the first stays."""
    kept: dict[tuple[str, str], dict[str, Any]] = {}
    for event in events:
        record = _fields(event)
        key = (record["city"], record["record_id"])
        if key not in kept or record["revision"] > kept[key]["revision"]:
            kept[key] = record
    return kept


CONTENT = ("status", "resident_id", "scheme", "insured_kind", "month", "contribution_base", "employer_amount",
           "employee_amount", "recorded_at")  # every field but the identity (city, record_id) and the revision


def conflicts(events: Iterable[Any]) -> list[bool]:
    """Rule 1, per event in delivery order: True when the revision kept for its (city, record_id) is its
    own revision with other content (REVISION_CONFLICT); lower revisions and redeliveries are not."""
    kept: dict[tuple[str, str], tuple[int, tuple]] = {}
    out = []
    for event in events:
        get = event.__getitem__ if isinstance(event, Mapping) else lambda name, e=event: getattr(e, name)
        key, revision = (get("city"), get("record_id")), get("revision")
        content = tuple(Decimal(str(get(n))) if n.endswith(("_base", "_amount")) else get(n) for n in CONTENT)
        known = kept.get(key)
        out.append(known is not None and known[0] == revision and known[1] != content)
        if known is None or revision > known[0]:
            kept[key] = (revision, content)
    return out


def retained_and_duplicates(records: list[dict[str, Any]]) -> tuple[dict[str, dict], list[dict]]:
    by_month: dict[str, list[dict]] = defaultdict(list)
    for record in records:
        by_month[record["month"]].append(record)
    retained, duplicates = {}, []
    for month, group in by_month.items():
        ordered = sorted(group, key=_precedence)
        retained[month] = ordered[0]
        duplicates.extend(ordered[1:])
    return retained, duplicates


def _count_by_city(retained: dict[str, dict]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for record in retained.values():
        counts[record["city"]] = counts.get(record["city"], 0) + 1
    return dict(sorted(counts.items()))


def _summary(records: list[dict[str, Any]]) -> dict[str, Any]:
    retained, duplicates = retained_and_duplicates(records)
    last = max(retained)
    duplicates.sort(key=lambda r: (r["month"], r["city"], r["record_id"]))
    return {
        "total_months": len(retained),
        "months_by_city": _count_by_city(retained),
        "first_month": min(retained),
        "last_month": last,
        "last_city": retained[last]["city"],
        "duplicate_months": len({r["month"] for r in duplicates}),
        "refunds": [
            {"city": r["city"], "record_id": r["record_id"], "month": r["month"], "amount": _money(r["employee_amount"])}
            for r in duplicates
        ],
    }


def _pension(records: list[dict[str, Any]], hukou_city: str) -> dict[str, Any]:
    retained, _ = retained_and_duplicates(records)
    counts = _count_by_city(retained)
    payable = hukou_city
    if retained:
        last_city = retained[max(retained)]["city"]
        last_of = {city: max(m for m, r in retained.items() if r["city"] == city) for city in counts}
        if last_city == hukou_city:
            payable = hukou_city
        elif counts[last_city] >= 120:
            payable = last_city
        else:
            for city in sorted(counts, key=lambda c: last_of[c], reverse=True):
                if city != last_city and counts[city] >= 120:
                    payable = city
                    break
    transfers = []
    for city in counts:
        if city == payable:
            continue
        mine = [r for m, r in retained.items() if r["city"] == city]
        base = sum((r["contribution_base"] for r in mine if r["month"] >= "1998-01"), Decimal(0))
        transfers.append({
            "from_city": city,
            "pooled_fund": _money(base * Decimal("0.12")),
            "individual_account": _money(sum((r["employee_amount"] for r in mine), Decimal(0))),
        })
    total = len(retained)
    return {"total_months": total, "months_by_city": counts, "eligible": total >= 180,
            "payable_city": payable, "transfers": transfers}


def _medical(records: list[dict[str, Any]], city: str, policy: Mapping[str, Any] | None) -> dict[str, Any]:
    retained, _ = retained_and_duplicates(records)
    required = (policy or {}).get(city, (300, 120))
    if not isinstance(required, tuple):
        required = (required.required_total_months, required.required_local_months)
    total = len(retained)
    local = sum(1 for r in retained.values() if r["city"] == city)
    return {"total_months": total, "local_months": local, "required_total_months": required[0],
            "required_local_months": required[1], "eligible": total >= required[0] and local >= required[1],
            "shortfall_months": max(required[0] - total, required[1] - local, 0)}


def reference_figures(events: Iterable[Any], request: Any = None, policy: Mapping[str, Any] | None = None) -> dict:
    """`policy`: city -> (required_total, required_local) or an object with those attributes."""
    effective = [r for r in kept_records(events).values() if r["status"] == "ACTIVE"]
    of_scheme = {s: [r for r in effective if r["scheme"] == s] for s in SCHEMES}
    figures: dict[str, Any] = {"schemes": {s: _summary(rs) for s, rs in of_scheme.items() if rs}}
    if request is not None:
        get = request.__getitem__ if isinstance(request, Mapping) else lambda name: getattr(request, name)
        figures["pension"] = _pension(of_scheme["PENSION"], get("hukou_city"))
        figures["medical"] = _medical(of_scheme["MEDICAL"], get("city"), policy)
    return figures
