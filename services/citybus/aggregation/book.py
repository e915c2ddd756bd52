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
    """request_id -> IssuedStatement, for one resident; stored as JSON bytes.

    `sent`: request_id -> the JSON view of a statement found on the statements topic for a request
    the book does not hold (a crash after the statement was sent, before the book was stored); the
    request, when it is applied again, takes that revision (citybus.aggregation.batch)."""

    __slots__ = ("resident_id", "issued", "sent")

    def __init__(self, resident_id: str, issued: dict[str, IssuedStatement] | None = None,
                 sent: dict[str, dict[str, Any]] | None = None) -> None:
        self.resident_id = resident_id
        self.issued: dict[str, IssuedStatement] = dict(issued or {})
        self.sent: dict[str, dict[str, Any]] = dict(sent or {})

    def __bool__(self) -> bool:
        return bool(self.issued or self.sent)

    def adopt(self, view: dict[str, Any]) -> bool:
        """A statement that was on the statements topic (sent by a batch whose state a crash lost):
        the book takes it when it is a later revision than the one it holds. True when it did."""
        request_id, revision = view["request_id"], view["revision"]
        issued = self.issued.get(request_id)
        if issued is not None:
            if revision <= issued.revision:
                return False
            self.issued[request_id] = IssuedStatement(issued.request, view)
            return True
        known = self.sent.get(request_id)
        if known is not None and revision <= known["revision"]:
            return False
        self.sent[request_id] = view
        return True

    def record(self, request: RetirementRequest, statement: RetirementStatement) -> dict[str, Any]:
        view = statement_json(statement)
        self.issued[request.request_id] = IssuedStatement(request, view)
        return view

    def to_bytes(self) -> bytes:
        obj: dict[str, Any] = {
            "resident_id": self.resident_id,
            "issued": [{"request": request_json(i.request), "statement": i.statement} for i in self.issued.values()],
        }
        if self.sent:
            obj["sent"] = list(self.sent.values())
        return json.dumps(obj, separators=(",", ":")).encode()

    @classmethod
    def from_bytes(cls, data: bytes) -> RetirementBook:
        obj = json.loads(data)
        issued = {}
        for item in obj["issued"]:
            request = _request_of(item["request"])
            issued[request.request_id] = IssuedStatement(request, item["statement"])
        return cls(obj["resident_id"], issued, {view["request_id"]: view for view in obj.get("sent", ())})


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
