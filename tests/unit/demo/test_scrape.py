"""The operator's metrics as the report shows them: cango_* samples summed over labels."""

from __future__ import annotations

import pytest
from aiohttp import web

from cango_operator.demo.scrape import scrape, summarise_metrics

TEXT = """\
# HELP cango_placements_total Replicas placed
# TYPE cango_placements_total counter
cango_placements_total{site="a"} 3.0
cango_placements_total{site="b"} 4.0
cango_placements_created{site="a"} 1.7e9
# HELP cango_plan_duration_seconds Planning time
# TYPE cango_plan_duration_seconds histogram
cango_plan_duration_seconds_bucket{le="0.1"} 5.0
cango_plan_duration_seconds_bucket{le="+Inf"} 6.0
cango_plan_duration_seconds_count 6.0
cango_plan_duration_seconds_sum 0.42
# HELP cango_jobs Jobs known
# TYPE cango_jobs gauge
cango_jobs 5.0
# HELP cango_feed_age_seconds Feed age per site
# TYPE cango_feed_age_seconds gauge
cango_feed_age_seconds{site="a"} 3.0
cango_feed_age_seconds{site="b"} 4.0
# TYPE cango_reads_created gauge
cango_reads_created 1.7e9
# HELP process_cpu_seconds_total CPU
# TYPE process_cpu_seconds_total counter
process_cpu_seconds_total 12.0
"""


class TestSummariseMetrics:
    def test_counters_add_up_histograms_average_and_per_site_gauges_are_left_out(self) -> None:
        summary = summarise_metrics(TEXT)
        assert summary == {
            "cango_placements_total": 7.0,
            "cango_plan_duration_seconds count": 6.0,
            "cango_plan_duration_seconds mean": pytest.approx(0.07),
            "cango_jobs": 5.0,
        }


class TestScrape:
    async def test_it_reads_a_metrics_endpoint_on_localhost(self) -> None:
        async def metrics(_: web.Request) -> web.Response:
            return web.Response(text=TEXT)

        app = web.Application()
        app.router.add_get("/metrics", metrics)
        runner = web.AppRunner(app)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        try:
            text = await scrape(f"http://127.0.0.1:{port}/metrics")
        finally:
            await runner.cleanup()
        assert summarise_metrics(text)["cango_placements_total"] == 7.0
