"""HTTP (contributions.md, Query API), answered from any worker: a request for a key whose
partition another worker owns is forwarded to that worker (its address came with the group's
assignment, see citybus.streams.assignor); 503 while nobody is known to own it yet."""
from __future__ import annotations

import logging

import aiohttp
from aiohttp import web

from citybus.aggregation.process import Aggregator
from citybus.domain.contributions import person_json
from citybus.domain.ids import validate_resident_id
from citybus.errors import ValidationError
from citybus.streams.worker import StateWorker

__all__ = ["AggregationWeb", "FORWARDED_HEADER"]

log = logging.getLogger(__name__)
FORWARDED_HEADER = "X-Citybus-Forwarded-By"


class AggregationWeb:
    def __init__(self, worker: StateWorker, aggregator: Aggregator) -> None:
        self.worker = worker
        self.aggregator = aggregator
        self.app = web.Application()
        self.app.add_routes([
            web.get("/contributions/{resident_id}", self.contributions),
            web.get("/retirements/{request_id}", self.retirements),
            web.get("/status", self.status),
        ])
        self._runner: web.AppRunner | None = None
        self._client: aiohttp.ClientSession | None = None

    async def start(self, host: str, port: int) -> None:
        self._runner = web.AppRunner(self.app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, host, port).start()
        self._client = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10))

    async def stop(self) -> None:
        if self._client is not None:
            await self._client.close()
        if self._runner is not None:
            await self._runner.cleanup()

    async def contributions(self, request: web.Request) -> web.StreamResponse:
        resident_id = request.match_info["resident_id"]
        try:
            validate_resident_id(resident_id)
        except ValidationError as exc:
            return web.json_response({"error": str(exc), "reason_code": exc.reason_code}, status=400)
        partition = self.worker.partition_of(resident_id.encode())
        if partition not in self.worker.ready:
            return await self._forward(partition, request)
        ledger = self.aggregator.read_ledger(resident_id, self.worker.stores)
        if ledger is None or not ledger.has_effective_records():
            return web.json_response({"error": f"no effective contribution record for {resident_id}"}, status=404)
        return web.json_response(person_json(resident_id, ledger.summaries()))

    async def retirements(self, request: web.Request) -> web.StreamResponse:
        request_id = request.match_info["request_id"]
        partition = self.worker.partition_of(request_id.encode())
        if partition not in self.worker.ready:
            return await self._forward(partition, request)
        stored = self.aggregator.read_statement(request_id, self.worker.stores)
        if stored is None:
            return web.json_response({"error": f"no retirement request {request_id}"}, status=404)
        return web.Response(body=stored, content_type="application/json")

    async def status(self, request: web.Request) -> web.StreamResponse:
        a, w = self.aggregator, self.worker
        return web.json_response({
            "url": w.config.url, "partitions": sorted(w.ready), "owners": {str(p): u for p, u in
                                                                           sorted(w.owners.by_partition.items())},
            "events": a.events, "rejected": a.rejected, "summaries": a.summaries, "statements": a.statements,
            "forwarded": a.forwarded, "batches": w.batches, "restored_records": w.restored_records,
        })

    async def _forward(self, partition: int, request: web.Request) -> web.StreamResponse:
        owner = self.worker.owner_url(partition)
        if owner is None or owner == self.worker.config.url or FORWARDED_HEADER in request.headers:
            return _not_ready(partition)
        assert self._client is not None
        try:
            async with self._client.get(owner + request.rel_url.path_qs,
                                        headers={FORWARDED_HEADER: self.worker.config.url}) as answer:
                body = await answer.read()
                return web.Response(body=body, status=answer.status, content_type=answer.content_type)
        except (aiohttp.ClientError, TimeoutError) as exc:
            log.info("forwarding to %s failed: %s", owner, exc)
            return _not_ready(partition)


def _not_ready(partition: int) -> web.Response:
    return web.json_response({"error": f"partition {partition} is being assigned or restored, retry shortly"},
                             status=503, headers={"Retry-After": "1"})
