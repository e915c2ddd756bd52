"""HTTP (contributions.md, Query API), answered from any worker (citybus.streams.web: forwarded to
the owner of the key's partition, 503 while nobody is known to own it yet)."""
from __future__ import annotations

from aiohttp import web

from citybus.aggregation.process import Aggregator
from citybus.domain.contributions import person_json
from citybus.domain.ids import validate_resident_id
from citybus.errors import ValidationError
from citybus.streams.web import FORWARDED_HEADER, WorkerWeb
from citybus.streams.worker import StateWorker

__all__ = ["AggregationWeb", "FORWARDED_HEADER"]


class AggregationWeb(WorkerWeb):
    def __init__(self, worker: StateWorker, aggregator: Aggregator) -> None:
        super().__init__(worker)
        self.aggregator = aggregator
        self.app.add_routes([
            web.get("/contributions/{resident_id}", self.contributions),
            web.get("/retirements/{request_id}", self.retirements),
            web.get("/status", self.status),
        ])

    async def contributions(self, request: web.Request) -> web.StreamResponse:
        resident_id = request.match_info["resident_id"]
        try:
            validate_resident_id(resident_id)
        except ValidationError as exc:
            return web.json_response({"error": str(exc), "reason_code": exc.reason_code}, status=400)
        partition = self.worker.partition_of(resident_id.encode())
        if partition not in self.worker.ready:
            return await self.forward(partition, request)
        ledger = self.aggregator.read_ledger(resident_id, self.worker.stores)
        if ledger is None or not ledger.has_effective_records():
            return web.json_response({"error": f"no effective contribution record for {resident_id}"}, status=404)
        return web.json_response(person_json(resident_id, ledger.summaries()))

    async def retirements(self, request: web.Request) -> web.StreamResponse:
        request_id = request.match_info["request_id"]
        partition = self.worker.partition_of(request_id.encode())
        if partition not in self.worker.ready:
            return await self.forward(partition, request)
        stored = self.aggregator.read_statement(request_id, self.worker.stores)
        if stored is None:
            return web.json_response({"error": f"no retirement request {request_id}"}, status=404)
        return web.Response(body=stored, content_type="application/json")

    async def status(self, request: web.Request) -> web.StreamResponse:
        a = self.aggregator
        return web.json_response({
            **self.worker_status(), "events": a.events, "rejected": a.rejected, "summaries": a.summaries,
            "statements": a.statements, "forwarded": a.forwarded,
        })
