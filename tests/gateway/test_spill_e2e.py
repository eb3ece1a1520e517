"""Spill by measured load, end to end: replicas that answer slowly pile up requests in
flight; from ``--spill-at`` each, the gateway marks them busy and new requests go to the
next region's replica, and back to the client's region once the load is gone."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator

import pytest

from cango_operator.devcluster.modelservers import ModelServers
from tests.e2e.conftest import StartOperator
from tests.e2e.harness import Fleet, wait_for
from tests.gateway.harness import (
    StartGateway,
    pod_addresses,
    request,
    site_of,
    two_regions,
    under_load,
)

pytestmark = pytest.mark.cluster


@pytest.fixture
def slow_servers() -> Iterator[ModelServers]:
    """Model servers that take 200 ms an answer."""
    running = ModelServers(latency_ms=200)
    yield running
    running.stop()


def test_busy_replicas_spill_to_the_next_region_and_the_load_comes_back(
    fleet: Fleet,
    start_operator: StartOperator,
    start_gateway: StartGateway,
    slow_servers: ModelServers,
) -> None:
    bed = two_regions(fleet)
    fleet.job("chat", replicas=3, placement={"objective": "latency"}, endpoint={"path": "/v1"})
    start_operator("--standalone", "--gateway", f"{fleet.namespace}/inference")
    gateway = start_gateway(f"{fleet.namespace}/inference", "--spill-at", "2")
    fleet.wait_running()
    slow_servers.serve(pod_addresses(fleet, "chat"))
    assert Counter(slow_servers.served.values()) == {bed.na: 2, bed.eu: 1}
    wait_for("the gateway to serve chat", lambda: site_of(bed.port) == bed.na, timeout=60)
    gateway.wait_healthy()

    # One request at a time: the client's region only.
    assert {request(bed.port).site for _ in range(5)} == {bed.na}

    # Twelve at a time, six in flight on each north-american replica: they are busy
    # within a pass, and the european replica takes a share.
    results = under_load(bed.port, None, during=lambda: None, clients=12, seconds=4.0)
    assert {status for status, _ in results} == {200}
    sites = Counter(site for _, site in results)
    assert sites[bed.eu] >= len(results) // 10, sites

    # The load gone, the replicas are no longer busy: all to the client's region again.
    wait_for(
        "requests back in the client's region",
        lambda: {request(bed.port).site for _ in range(5)} == {bed.na},
        timeout=10,
    )
    assert "busy" in gateway.log_path.read_text()
