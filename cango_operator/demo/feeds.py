"""The simulated sites' meters: one HTTP server on 127.0.0.1 serving every site.

``GET /sites/<name>`` returns the site's JSON document (see
:meth:`~cango_operator.demo.conditions.SiteConditions.as_feed_document`) as the
scenario clock says it is now; each Site's ``spec.power.feed`` points here (type http),
so the operator reads the demo's power data through its ordinary HTTP feed adapter. With
driven miners (:mod:`.miners`) a site's mining is what its fake miners draw now, beside
the hosted part nobody drives.
A site without power (a storm) reports capacity 0, which the operator reads as Offline.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import replace

from aiohttp import web

from cango_operator.demo.conditions import site_conditions
from cango_operator.demo.scenario import Scenario

FEED_HOST = "127.0.0.1"


class FeedServer:
    """Serves every site's feed from ``scenario`` at the simulated time ``now()``."""

    def __init__(
        self,
        scenario: Scenario,
        now: Callable[[], float],
        mining_kw: Callable[[str, float], float] | None = None,
    ) -> None:
        self.scenario = scenario
        self.now = now
        #: (site, scripted mining kW) -> what the meter shows (the driven miners' draw)
        self.mining_kw = mining_kw
        self.requests: Counter[str] = Counter()
        self._sites = {s.name: s for s in scenario.sites}
        self._runner: web.AppRunner | None = None
        self._port: int | None = None

    @property
    def base_url(self) -> str:
        if self._port is None:
            raise RuntimeError("the feed server is not started")
        return f"http://{FEED_HOST}:{self._port}"

    def url_for(self, site: str) -> str:
        return f"{self.base_url}/sites/{site}"

    async def start(self, port: int = 0) -> str:
        """Listen on 127.0.0.1 (``port`` 0: any free one); returns the base URL."""
        app = web.Application()
        app.router.add_get("/sites/{name}", self._site)
        app.router.add_get("/healthz", self._healthz)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, FEED_HOST, port)
        await site.start()
        server = site._server
        sockets = getattr(server, "sockets", None) or []
        self._port = int(sockets[0].getsockname()[1])
        return self.base_url

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def _site(self, request: web.Request) -> web.Response:
        name = request.match_info["name"]
        site = self._sites.get(name)
        if site is None:
            return web.json_response({"error": f"no site {name!r}"}, status=404)
        self.requests[name] += 1
        conditions = site_conditions(self.scenario, site, self.now())
        if self.mining_kw is not None:
            metered = self.mining_kw(name, conditions.mining_load_kw)
            conditions = replace(conditions, mining_load_kw=metered)
        return web.json_response(conditions.as_feed_document())

    async def _healthz(self, _: web.Request) -> web.Response:
        return web.Response(text="ok")
