"""The lag monitor's HTTP face: `/` (the operators' page), `/metrics`, `/api/lag`, `/api/lag/history`."""
from __future__ import annotations

import inspect
from importlib import resources
from typing import Protocol

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from citybus.domain.lag import LagReport
from citybus.lag.api import history_json, report_json
from citybus.lag.metrics import lag_registry

__all__ = ["LagSource", "make_lag_app"]


class LagSource(Protocol):
    def report(self) -> LagReport: ...


_SOURCE = web.AppKey("lag_source", object)


def make_lag_app(source: LagSource) -> web.Application:
    """An aiohttp app serving the lag monitor; `source.report()` may be sync or async."""
    page = resources.files("citybus.lag").joinpath("static/index.html").read_bytes()

    async def report() -> LagReport:
        result = source.report()
        return await result if inspect.isawaitable(result) else result

    async def index(request: web.Request) -> web.Response:
        return web.Response(body=page, content_type="text/html", charset="utf-8",
                            headers={"Cache-Control": "no-cache"})

    async def metrics(request: web.Request) -> web.Response:
        latest = await report()
        body = generate_latest(lag_registry(lambda: latest))
        return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})

    async def api_lag(request: web.Request) -> web.Response:
        return web.json_response(report_json(await report()))

    async def api_history(request: web.Request) -> web.Response:
        return web.json_response(history_json(await report()))

    app = web.Application()
    app[_SOURCE] = source
    app.router.add_get("/", index)
    app.router.add_get("/metrics", metrics)
    app.router.add_get("/api/lag", api_lag)
    app.router.add_get("/api/lag/history", api_history)
    return app
