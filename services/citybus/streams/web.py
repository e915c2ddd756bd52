"""What every stateful-worker service shares around its worker: the HTTP site (any worker answers
any query: a request for a partition another worker owns is forwarded to that worker, whose
address came with the group's assignment, see citybus.streams.assignor; 503 with `Retry-After`
while nobody is known to own it) and the run of one worker until SIGTERM/SIGINT."""
from __future__ import annotations

import logging
import socket
from collections.abc import Callable
from typing import Any

import aiohttp
from aiohttp import web

from citybus.errors import ConfigurationError
from citybus.streams.runtime import tune_gc
from citybus.streams.worker import StateWorker

__all__ = ["FORWARDED_HEADER", "WorkerWeb", "not_ready", "advertised_url", "run_worker"]

log = logging.getLogger(__name__)
FORWARDED_HEADER = "X-Citybus-Forwarded-By"


def not_ready(partition: int) -> web.Response:
    return web.json_response({"error": f"partition {partition} is being assigned or restored, retry shortly"},
                             status=503, headers={"Retry-After": "1"})


class WorkerWeb:
    """The aiohttp site of one worker; subclasses add their routes to `app`."""

    def __init__(self, worker: StateWorker) -> None:
        self.worker = worker
        self.app = web.Application()
        self._runner: web.AppRunner | None = None
        self._client: aiohttp.ClientSession | None = None

    async def start(self, host: str, port: int) -> None:
        """Listen on host:port; a port already taken is a ConfigurationError (one line, exit 2),
        not the bind's traceback."""
        self._runner = web.AppRunner(self.app, access_log=None)
        await self._runner.setup()
        try:
            await web.TCPSite(self._runner, host, port).start()
        except OSError as exc:
            await self._runner.cleanup()
            raise ConfigurationError(f"cannot listen on {host}:{port} ({exc.strerror or exc}): "
                                     "is another process on that --web-port?") from None
        self._client = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10))

    async def stop(self) -> None:
        if self._client is not None:
            await self._client.close()
        if self._runner is not None:
            await self._runner.cleanup()

    def worker_status(self) -> dict[str, Any]:
        """The worker's part of `/status`: its address, partitions (and those that tick: caught up
        with the inputs they had when assigned), their owners, counters."""
        w = self.worker
        return {"url": w.config.url, "partitions": sorted(w.ready), "ticking": sorted(w.ticking),
                "owners": {str(p): u for p, u in sorted(w.owners.by_partition.items())},
                "batches": w.batches, "restored_records": w.restored_records}

    async def forward(self, partition: int, request: web.Request, method: str = "GET", path: str | None = None,
                      body: Any = None) -> web.StreamResponse:
        """The answer of the partition's owner (once: a forwarded request is never forwarded again)."""
        owner = self.worker.owner_url(partition)
        if owner is None or owner == self.worker.config.url or FORWARDED_HEADER in request.headers:
            return not_ready(partition)
        assert self._client is not None
        try:
            async with self._client.request(method, owner + (path or request.rel_url.path_qs), json=body,
                                            headers={FORWARDED_HEADER: self.worker.config.url}) as answer:
                retry = answer.headers.get("Retry-After")
                return web.Response(body=await answer.read(), status=answer.status,
                                    content_type=answer.content_type,
                                    headers={"Retry-After": retry} if retry else None)
        except (aiohttp.ClientError, TimeoutError) as exc:
            log.info("forwarding to %s failed: %s", owner, exc)
            return not_ready(partition)


def advertised_url(host: str, port: int) -> str:
    """The address other workers forward to: the host's name when bound to every interface."""
    if host in ("0.0.0.0", "::", ""):
        host = socket.getfqdn()
    return f"http://{host}:{port}"


async def run_worker(worker: StateWorker, site: WorkerWeb, host: str, port: int, name: str,
                     tune: Callable[[], object] = tune_gc) -> None:
    """The site, then the worker until SIGTERM/SIGINT (its last batch committed, the group left).
    `tune` sets the garbage collector up (throughput by default; see citybus.streams.runtime)."""
    tune()
    await site.start(host, port)
    try:
        await worker.start()
        worker.install_signal_handlers()
        log.info("%s worker %s in group %s", name, worker.config.url, worker.config.group)
        await worker.run()
    finally:
        await worker.close()
        await site.stop()
