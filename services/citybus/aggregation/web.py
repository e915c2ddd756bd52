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


class _NotReady(Exception):
    pass


async def _route(app: faust.App, table: faust.Table, key: bytes, web: Any, request: Request) -> Response | None:
    """The owner's answer, or None when this worker owns the key."""
    try:
        return await app.router.route_req(table.name, key, web, request)
    except SameNode:
        return None
    except (KeyError, TypeError) as exc:  # Faust's assignor has no assignment yet (TypeError in 0.15.3)
        raise _NotReady() from exc


def add_views(app: faust.App, aggregator: Any, ledgers: faust.Table, statements: faust.Table) -> None:
    def not_ready(view: View) -> Response:
        return view.json({"error": "partitions not assigned yet, retry shortly"}, status=503)

    @app.page("/contributions/{resident_id}")
    class Contributions(View):
        async def get(self, request: Request, resident_id: str) -> Response:
            try:
                validate_resident_id(resident_id)
            except ValidationError as exc:
                return self.json({"error": str(exc), "reason_code": exc.reason_code}, status=400)
            try:
                routed = await _route(app, ledgers, resident_id.encode(), self.web, request)
            except _NotReady:
                return not_ready(self)
            if routed is not None:
                return routed
            ledger = aggregator.read_ledger(resident_id)
            if ledger is None or not ledger.has_effective_records():
                return self.json({"error": f"no effective contribution record for {resident_id}"}, status=404)
            return self.json(person_json(resident_id, ledger.summaries()))

    @app.page("/retirements/{request_id}")
    class Retirements(View):
        async def get(self, request: Request, request_id: str) -> Response:
            try:
                routed = await _route(app, statements, request_id.encode(), self.web, request)
            except _NotReady:
                return not_ready(self)
            if routed is not None:
                return routed
            stored = statements.get(request_id.encode())
            if stored is None:
                return self.json({"error": f"no retirement request {request_id}"}, status=404)
            return self.bytes(stored, content_type="application/json")
