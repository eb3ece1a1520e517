"""A real Prometheus (Debian's package) on a free loopback port, scraping given targets
every second, and its HTTP API: instant queries and series lookups."""

from __future__ import annotations

import json
import math
import socket
import subprocess
import textwrap
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from tests.observability.tools import binary

SCRAPE_INTERVAL = "1s"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class QueryError(Exception):
    """Prometheus refused a query (a parse error is one: errorType ``bad_data``)."""

    def __init__(self, error_type: str, error: str) -> None:
        super().__init__(f"{error_type}: {error}")
        self.error_type = error_type


@dataclass
class PrometheusServer:
    workdir: Path
    targets: dict[str, str]  # scrape job name -> host:port
    #: Further scrape jobs as Prometheus takes them (e.g. with a metrics_path, relabelling).
    scrape_configs: list[dict[str, Any]] = field(default_factory=list)
    port: int = 0
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def log_path(self) -> Path:
        return self.workdir / "prometheus.log"

    def start(self) -> PrometheusServer:
        self.workdir.mkdir(parents=True, exist_ok=True)
        config = self.workdir / "prometheus.yml"
        jobs = "".join(
            f"  - job_name: {job}\n    static_configs: [{{targets: ['{target}']}}]\n"
            for job, target in self.targets.items()
        )
        if self.scrape_configs:
            jobs += textwrap.indent(yaml.safe_dump(self.scrape_configs), "  ")
        config.write_text(
            f"global: {{scrape_interval: {SCRAPE_INTERVAL}, scrape_timeout: 900ms, "
            "evaluation_interval: 1s}\nscrape_configs:\n" + jobs
        )
        self.port = free_port()
        with self.log_path.open("w") as log:
            self.process = subprocess.Popen(
                [
                    binary("prometheus"),
                    f"--config.file={config}",
                    f"--storage.tsdb.path={self.workdir / 'data'}",
                    f"--web.listen-address=127.0.0.1:{self.port}",
                    "--log.level=warn",
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        return self

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def log_tail(self) -> str:
        return self.log_path.read_text(errors="replace")[-2000:] if self.log_path.exists() else ""

    def _get(self, path: str, **params: str) -> Any:
        if self.process is not None and self.process.poll() is not None:
            raise AssertionError(f"prometheus exited: {self.log_tail()}")
        url = f"{self.url}{path}?{urllib.parse.urlencode(params)}"
        try:
            with urllib.request.urlopen(url, timeout=10) as answer:
                body = json.load(answer)
        except urllib.error.HTTPError as exc:
            body = json.load(exc)
        if body["status"] != "success":
            raise QueryError(body.get("errorType", ""), body.get("error", ""))
        return body["data"]

    def query(self, expr: str) -> list[dict[str, Any]]:
        """An instant query now; the result vector (or a scalar as one sample)."""
        data = self._get("/api/v1/query", query=expr)
        if data["resultType"] in ("scalar", "string"):
            return [{"metric": {}, "value": data["result"]}]
        result: list[dict[str, Any]] = data["result"]
        return result

    def query_range(self, expr: str, start: float, step: float = 1.0) -> list[dict[str, Any]]:
        """A range query from ``start`` to now, as a Grafana time-series panel runs it
        (steps counted back from now, so the last one sees the latest scrape)."""
        end = time.time()
        start = end - math.ceil((end - start) / step) * step
        data = self._get(
            "/api/v1/query_range", query=expr, start=str(start), end=str(end), step=str(step)
        )
        result: list[dict[str, Any]] = data["result"]
        return result

    def series(self, selector: str) -> list[dict[str, str]]:
        found: list[dict[str, str]] = self._get(
            "/api/v1/series", **{"match[]": selector, "start": str(time.time() - 300)}
        )
        return found

    def targets_up(self) -> dict[str, bool]:
        """Scrape job -> whether its last scrape succeeded."""
        data = self._get("/api/v1/targets", state="active")
        return {t["labels"]["job"]: t["health"] == "up" for t in data["activeTargets"]}
