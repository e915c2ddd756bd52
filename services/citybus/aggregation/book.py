"""A person's retirement requests and the statement last issued for each: the state behind re-issues."""
from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from typing import Any

from citybus.domain.contributions import RetirementRequest, RetirementStatement, statement_json

__all__ = ["IssuedStatement", "RetirementBook", "request_json"]


@dataclass(frozen=True, slots=True)
class IssuedStatement:
    """A request and the JSON view (contributions.md) of the statement last issued for it."""

    request: RetirementRequest
    statement: dict[str, Any]

    @property
    def revision(self) -> int:
        return self.statement["revision"]

    def differs_from(self, candidate: RetirementStatement) -> bool:
        """True when a statement built now (with the same revision) shows other figures."""
        return statement_json(candidate) != self.statement


class RetirementBook:
    """request_id -> IssuedStatement, for one resident; stored as JSON bytes."""

    __slots__ = ("resident_id", "issued")

    def __init__(self, resident_id: str, issued: dict[str, IssuedStatement] | None = None) -> None:
        self.resident_id = resident_id
        self.issued: dict[str, IssuedStatement] = dict(issued or {})

    def __bool__(self) -> bool:
        return bool(self.issued)

    def record(self, request: RetirementRequest, statement: RetirementStatement) -> dict[str, Any]:
        view = statement_json(statement)
        self.issued[request.request_id] = IssuedStatement(request, view)
        return view

    def to_bytes(self) -> bytes:
        return json.dumps({
            "resident_id": self.resident_id,
            "issued": [{"request": request_json(i.request), "statement": i.statement} for i in self.issued.values()],
        }, separators=(",", ":")).encode()

    @classmethod
    def from_bytes(cls, data: bytes) -> RetirementBook:
        obj = json.loads(data)
        issued = {}
        for item in obj["issued"]:
            request = _request_of(item["request"])
            issued[request.request_id] = IssuedStatement(request, item["statement"])
        return cls(obj["resident_id"], issued)


def request_json(request: RetirementRequest) -> dict[str, Any]:
    return {
        "request_id": request.request_id,
        "resident_id": request.resident_id,
        "city": request.city,
        "hukou_city": request.hukou_city,
        "retirement_date": request.retirement_date.isoformat(),
        "requested_at": request.requested_at,
    }


def _request_of(obj: dict[str, Any]) -> RetirementRequest:
    return RetirementRequest(
        request_id=obj["request_id"],
        resident_id=obj["resident_id"],
        city=obj["city"],
        hukou_city=obj["hukou_city"],
        retirement_date=dt.date.fromisoformat(obj["retirement_date"]),
        requested_at=obj["requested_at"],
    )
