"""The agent's HTTP endpoint: ``/metrics`` for Prometheus, ``/healthz`` for the kubelet."""

from __future__ import annotations

from collections.abc import Callable

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest


def build_app(registry: CollectorRegistry, healthy: Callable[[], bool]) -> web.Application:
    async def metrics(_: web.Request) -> web.Response:
        return web.Response(
            body=generate_latest(registry), headers={"Content-Type": CONTENT_TYPE_LATEST}
        )

    async def healthz(_: web.Request) -> web.Response:
        if healthy():
            return web.Response(text="ok\n")
        return web.Response(status=503, text="no status written in the last three intervals\n")

    app = web.Application()
    app.router.add_get("/metrics", metrics)
    app.router.add_get("/healthz", healthz)
    return app


async def start_server(
    registry: CollectorRegistry, healthy: Callable[[], bool], host: str, port: int
) -> tuple[web.AppRunner, int]:
    """Serve until ``runner.cleanup()``; returns the runner and the port bound (``port=0``: any)."""
    runner = web.AppRunner(build_app(registry, healthy), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    await site.start()
    return runner, int(runner.addresses[0][1])
