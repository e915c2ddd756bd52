"""HTTP (contributions.md, Query API), answered from any worker: a request for a key this
worker does not own is forwarded to the owner of the key's partition (Faust's router)."""
from __future__ import annotations

from typing import Any

import faust
from faust.exceptions import SameNode
from faust.web import Request, Response, View

from citybus.domain.contributions import person_json
from citybus.domain.ids import validate_resident_id
from citybus.errors import ValidationError

__all__ = ["add_views"]


def add_views(app: faust.App, aggregator: Any, ledgers: faust.Table, statements: faust.Table) -> None:
    @app.page("/contributions/{resident_id}")
    class Contributions(View):
        async def get(self, request: Request, resident_id: str) -> Response:
            try:
                validate_resident_id(resident_id)
            except ValidationError as exc:
                return self.json({"error": str(exc), "reason_code": exc.reason_code}, status=400)
            try:
                return await app.router.route_req(ledgers.name, resident_id.encode(), self.web, request)
            except SameNode:
                pass
            ledger = aggregator.read_ledger(resident_id)
            if ledger is None or not ledger.has_effective_records():
                return self.json({"error": f"no effective contribution record for {resident_id}"}, status=404)
            return self.json(person_json(resident_id, ledger.summaries()))

    @app.page("/retirements/{request_id}")
    class Retirements(View):
        async def get(self, request: Request, request_id: str) -> Response:
            try:
                return await app.router.route_req(statements.name, request_id.encode(), self.web, request)
            except SameNode:
                pass
            stored = statements.get(request_id.encode())
            if stored is None:
                return self.json({"error": f"no retirement request {request_id}"}, status=404)
            return self.bytes(stored, content_type="application/json")
