"""The metrics port: ``/metrics`` (Prometheus) and ``/readyz``: ready once the operator is
watching, that is once kopf has listed every watched kind (see ``Runtime.watching``), or
while it stands by for a peer (see ``Runtime.ready``); an active operator whose watches
never open stays unready. Liveness is kopf's own endpoint (``--liveness``)."""

from __future__ import annotations

from collections.abc import Callable

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from cango_operator.operator.metrics import REGISTRY


async def start_http(host: str, port: int, ready_now: Callable[[], bool]) -> web.AppRunner:
    async def metrics(_: web.Request) -> web.Response:
        body = generate_latest(REGISTRY)
        return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})

    async def ready(_: web.Request) -> web.Response:
        if ready_now():
            return web.Response(text="ok\n")
        return web.Response(status=503, text="listing the fleet\n")

    app = web.Application()
    app.add_routes([web.get("/metrics", metrics), web.get("/readyz", ready)])
    runner = web.AppRunner(app, handle_signals=False, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, host, port).start()
    return runner
