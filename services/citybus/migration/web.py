"""HTTP of the orchestrator (migration.md, HTTP API), answered from any worker.

An id's claim (migration_id -> subject_id) lives in the partition of the migration_id; its saga
in the partition of its subject_id. `POST /migrations` and `GET /migrations/{id}` are answered by the owner of the
id's partition (forwarded there when another worker owns it); that worker reads the subject
from the claim and the saga from its own store, or from the subject's owner
(`GET /migrations/{id}?subject=S`). 503 with `Retry-After` while a partition is being assigned,
and when the request could not be written to the bus (the answer names the migration_id to retry with).
"""
from __future__ import annotations

import json
import logging
from typing import Any

import aiohttp
from aiohttp import web
from aiokafka.errors import KafkaError

from citybus.domain.migration import SagaPolicy, saga_json
from citybus.errors import ValidationError
from citybus.migration.http_api import accepted_body, error_body, request_from_body
from citybus.migration.orchestrator import FORGOTTEN, PENDING_MS, Orchestrator, now_ms
from citybus.migration.wire import request_out
from citybus.streams.web import FORWARDED_HEADER, WorkerWeb, not_ready
from citybus.streams.worker import StateWorker

__all__ = ["MigrationWeb", "FORWARDED_HEADER"]

log = logging.getLogger(__name__)


class _NotReady(Exception):
    def __init__(self, partition: int) -> None:
        super().__init__(partition)
        self.partition = partition


class MigrationWeb(WorkerWeb):
    def __init__(self, worker: StateWorker, orchestrator: Orchestrator, policy: SagaPolicy) -> None:
        super().__init__(worker)
        self.orchestrator = orchestrator
        self.policy = policy
        self.app.add_routes([
            web.post("/migrations", self.post),
            web.get("/migrations/{migration_id}", self.get),
            web.get("/status", self.status),
        ])

    # ---- handlers ----------------------------------------------------------------------------
    async def post(self, request: web.Request) -> web.StreamResponse:
        try:
            body = await request.json()
        except (ValueError, RecursionError):  # not JSON, or nested deeper than the parser goes
            return web.json_response({"error": "body: must be JSON"}, status=400)
        try:
            migration = request_from_body(body, now_ms(), self.policy.known_cities)
        except ValidationError as error:
            return web.json_response(error_body(error), status=400)
        partition = self.worker.partition_of(migration.migration_id.encode())
        if partition not in self.worker.ready:
            return await self.forward(partition, request, "POST", "/migrations",
                                       {**body, "migration_id": migration.migration_id})
        try:
            current = await self._known(migration.migration_id, partition)
        except _NotReady as exc:
            return not_ready(exc.partition)
        if current is not None:
            return web.json_response(current, status=200)
        producer = self.worker.producer
        if producer is None:
            return not_ready(partition)
        self.orchestrator.pending[migration.migration_id] = now_ms()
        topic, key, value, headers = request_out(migration)
        try:
            await producer.send_and_wait(topic, value, key=key, headers=headers)
        except KafkaError as exc:  # the client gave up (its own retries and timeout): not on the bus
            self.orchestrator.pending.pop(migration.migration_id, None)
            log.warning("POST /migrations %s: the request was not written: %r", migration.migration_id, exc)
            return web.json_response(
                {"migration_id": migration.migration_id,
                 "error": f"the bus did not take the request ({type(exc).__name__}); "
                          "retry with this migration_id (a repeated request starts nothing twice)"},
                status=503, headers={"Retry-After": "1"})
        return web.json_response(accepted_body(migration.migration_id), status=202)

    async def get(self, request: web.Request) -> web.StreamResponse:
        migration_id = request.match_info["migration_id"]
        subject = request.query.get("subject")
        if subject is not None:  # asked by the owner of the id: the saga of this subject
            partition = self.worker.partition_of(subject.encode())
            if partition not in self.worker.ready:
                return not_ready(partition)
            state = Orchestrator.saga(subject, migration_id, self.worker.stores, partition)
            if state is FORGOTTEN:  # for the asking worker: unknown, not on its way
                return web.json_response({"error": f"migration {migration_id} is forgotten"}, status=410)
            if state is None:
                return web.json_response({"error": f"no migration {migration_id}"}, status=404)
            return web.json_response(saga_json(state))
        partition = self.worker.partition_of(migration_id.encode())
        if partition not in self.worker.ready:
            return await self.forward(partition, request, "GET", request.rel_url.path_qs)
        try:
            view = await self._view(migration_id, partition)
        except _NotReady as exc:
            return not_ready(exc.partition)
        if view is None:
            return web.json_response({"error": f"no migration {migration_id}"}, status=404)
        return web.json_response(view)

    async def status(self, request: web.Request) -> web.StreamResponse:
        return web.json_response({**self.worker_status(), **self.orchestrator.status()})

    # ---- lookups -----------------------------------------------------------------------------
    async def _known(self, migration_id: str, partition: int) -> dict[str, Any] | None:
        """The current view of a known id (the answer to a repeated POST), else None."""
        view = await self._view(migration_id, partition)
        if view is not None:
            return view
        posted = self.orchestrator.pending.get(migration_id)
        if posted is not None and now_ms() - posted < PENDING_MS:
            return accepted_body(migration_id)
        return None

    async def _view(self, migration_id: str, partition: int) -> dict[str, Any] | None:
        """GET's body for an id whose partition is here; IN_PROGRESS while its saga is being stored."""
        subject = Orchestrator.subject_of(migration_id, self.worker.stores, partition)
        if subject is None:
            return None
        home = self.worker.partition_of(subject.encode())
        if home in self.worker.ready:
            state = Orchestrator.saga(subject, migration_id, self.worker.stores, home)
            if state is FORGOTTEN:
                return None
            return saga_json(state) if state is not None else accepted_body(migration_id)
        owner = self.worker.owner_url(home)
        if owner is None or owner == self.worker.config.url:
            raise _NotReady(home)
        assert self._client is not None
        try:
            async with self._client.get(f"{owner}/migrations/{migration_id}", params={"subject": subject},
                                        headers={FORWARDED_HEADER: self.worker.config.url}) as answer:
                if answer.status == 404:
                    return accepted_body(migration_id)
                if answer.status == 410:
                    return None
                if answer.status != 200:
                    raise _NotReady(home)
                return json.loads(await answer.read())
        except (aiohttp.ClientError, TimeoutError) as exc:
            log.info("asking %s for %s failed: %s", owner, migration_id, exc)
            raise _NotReady(home) from exc
