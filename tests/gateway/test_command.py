"""``cango-operator gateway`` when the API server is away: Envoy starts anyway (serving
nothing), the passes fail and are retried without the process dying, and SIGTERM stops
both. Its stats address serves Envoy's Prometheus stats and nothing else of the admin
interface. Envoy's own log is in the gateway's output (in a pod: the container's)."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from tests.loopback import free_port

DEAD_API = """\
apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {server: "https://127.0.0.1:PORT", insecure-skip-tls-verify: true}}]
users: [{name: u, user: {token: x}}]
contexts: [{name: c, context: {cluster: c, user: u}}]
current-context: c
"""


def envoy_live(admin: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{admin}/ready", timeout=2) as rsp:
            return bool(rsp.read().decode().strip() == "LIVE")
    except OSError:
        return False


def status_of(url: str, method: str = "GET") -> tuple[int, str]:
    request = urllib.request.Request(url, method=method)
    try:
        with urllib.request.urlopen(request, timeout=5) as rsp:
            return int(rsp.status), str(rsp.read().decode())
    except urllib.error.HTTPError as exc:
        return exc.code, str(exc.read().decode())


def start_gateway(tmp_path: Path, admin: int, *args: str) -> subprocess.Popen[bytes]:
    """``cango-operator gateway`` with an API server that is not there."""
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(DEAD_API.replace("PORT", str(free_port())))
    return subprocess.Popen(
        [
            *(sys.executable, "-m", "cango_operator", "gateway"),
            *("--gateway", "tenants/inference", "--kubeconfig", str(kubeconfig)),
            *("--admin", f"127.0.0.1:{admin}", "--config-dir", str(tmp_path / "envoy")),
            *("--interval", "0.5", *args),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )


def wait_live(proc: subprocess.Popen[bytes], admin: int) -> None:
    deadline = time.monotonic() + 30
    while not envoy_live(admin) and time.monotonic() < deadline:
        assert proc.poll() is None
        time.sleep(0.2)
    assert envoy_live(admin)


def test_with_the_api_away_it_serves_nothing_retries_shows_its_stats_and_stops_cleanly(
    tmp_path: Path,
) -> None:
    admin = free_port()
    stats = free_port()
    proc = start_gateway(tmp_path, admin, "--stats-address", f"127.0.0.1:{stats}")
    try:
        wait_live(proc, admin)
        time.sleep(2)  # several failed passes
        assert proc.poll() is None
        code, body = status_of(f"http://127.0.0.1:{stats}/stats/prometheus")
        assert code == 200
        assert "envoy_server_live{} 1" in body
        # Nothing else of the admin interface, and nothing that would change Envoy.
        for method, path in [("GET", "/ready"), ("POST", "/quitquitquit"), ("GET", "/stats")]:
            assert status_of(f"http://127.0.0.1:{stats}{path}", method)[0] == 404, path
        assert status_of(f"http://127.0.0.1:{stats}/stats/prometheus", "POST")[0] == 404
        assert envoy_live(admin)
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=30)
    finally:
        # A failed check above: SIGTERM still, so the gateway stops its Envoy (a SIGKILL
        # would leave Envoy running), and SIGKILL only if it does not go.
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.communicate(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.communicate(timeout=10)
    log = out.decode()
    assert proc.returncode == 0, log
    assert "first gateway pass failed, starting with no routes" in log
    assert "gateway pass failed, Envoy keeps its last configuration" in log
    assert not envoy_live(admin)  # Envoy went with it
    assert "envoy: " in log and "caught ENVOY_SIGTERM" in log, log
    assert "work-in-progress" not in log  # Envoy's notice of alpha APIs, at each update


def test_envoy_goes_when_the_gateway_is_killed(tmp_path: Path) -> None:
    admin = free_port()
    proc = start_gateway(tmp_path, admin)
    try:
        wait_live(proc, admin)
        proc.kill()  # no chance to stop Envoy itself
        proc.communicate(timeout=10)
        deadline = time.monotonic() + 10
        while envoy_live(admin) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert not envoy_live(admin)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate(timeout=10)
        if envoy_live(admin):  # the check failed: stop the orphan through its admin
            status_of(f"http://127.0.0.1:{admin}/quitquitquit", "POST")
