"""The Inference Extension's endpoint picker in the request path, every part real: the
operator writes the job's InferencePool, the Inference Extension's own picker (built from
its Go module, ``hack/epp/``) watches that pool on the API server, and
``cango-operator gateway --endpoint-picker`` asks it, through Envoy's ext_proc, which
replica serves each request, giving it the client's region's replicas as the candidates.

The picker advises: a client cannot steer it, and when it picks a dead replica, or is
gone itself, Envoy picks and no request fails.
"""

from __future__ import annotations

import urllib.request
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from cango_operator.devcluster import LocalCluster
from cango_operator.devcluster.modelservers import ModelServers
from cango_operator.devcluster.picker import EndpointPicker
from cango_operator.gateway import envoy
from tests.e2e.conftest import StartOperator
from tests.e2e.harness import Fleet, wait_for
from tests.gateway.harness import (
    GatewayCommand,
    StartGateway,
    pod_addresses,
    request,
    site_of,
    two_regions,
    under_load,
)

pytestmark = pytest.mark.cluster


def ext_proc_stats(gateway: GatewayCommand) -> dict[str, int]:
    """Envoy's counters of the picker's filter: streams started, failures let through."""
    url = f"http://127.0.0.1:{gateway.admin_port}/stats?filter=ext_proc"
    with urllib.request.urlopen(url, timeout=5) as response:
        text = response.read().decode()
    stats = {}
    for line in text.splitlines():
        name, _, value = line.partition(": ")
        if value.strip().isdigit():
            stats[name.rsplit(".", 1)[-1]] = int(value)
    return stats


@pytest.fixture
def picker(gateway_cluster: LocalCluster, fleet: Fleet, tmp_path: Path) -> Iterator[EndpointPicker]:
    """The picker of the pool ``chat`` in the test's namespace (started before the pool
    exists: it waits for it)."""
    started = EndpointPicker(gateway_cluster.kubeconfig, fleet.namespace, "chat", tmp_path)
    try:
        yield started.start()
    finally:
        started.stop()
        print(f"--- picker log (tail) ---\n{started.log_tail()}")


class TestTheEndpointPicker:
    def test_it_picks_within_the_clients_region_and_envoy_covers_for_it(
        self,
        fleet: Fleet,
        start_operator: StartOperator,
        start_gateway: StartGateway,
        picker: EndpointPicker,
        model_servers: ModelServers,
    ) -> None:
        bed = two_regions(fleet)
        na, eu, europe, port = bed.na, bed.eu, bed.europe, bed.port
        fleet.job("chat", replicas=3, placement={"objective": "latency"}, endpoint={"path": "/v1"})
        start_operator("--standalone", "--gateway", f"{fleet.namespace}/inference")
        gateway = start_gateway(
            f"{fleet.namespace}/inference", "--endpoint-picker", f"127.0.0.1:{picker.port}"
        )
        fleet.wait_running()
        model_servers.serve(pod_addresses(fleet, "chat"))
        assert Counter(model_servers.served.values()) == {na: 2, eu: 1}
        for region, site in ((fleet.region, na), (europe, eu)):
            wait_for(
                f"the gateway to serve chat from {site}",
                lambda region=region, site=site: site_of(port, region=region) == site,
                timeout=60,
            )

        # Every request asks the picker, which picks among the region's replicas only
        # (both north-american ones in turn; never the european one, nor the reverse).
        before = ext_proc_stats(gateway)
        answers = [request(port) for _ in range(40)]
        assert {a.status for a in answers} == {200}
        assert Counter(a.site for a in answers) == {na: 40}
        assert len({a.served_by for a in answers}) == 2
        assert {request(port, region=europe).site for _ in range(10)} == {eu}
        after = ext_proc_stats(gateway)
        assert after["streams_started"] - before["streams_started"] >= 50, after
        assert after.get("failure_mode_allowed", 0) == before.get("failure_mode_allowed", 0)

        # A client cannot steer the pick with the picker's test header.
        (eu_address,) = [a for a, s in model_servers.served.items() if s == eu]
        steered = [
            request(port, headers={envoy.PICKER_TEST_HEADER: eu_address}).site for _ in range(10)
        ]
        assert set(steered) == {na}

        # The north-american site dies under load: the picker keeps naming its replicas
        # (their pods stay Ready), Envoy tries the next and falls back; nothing is lost.
        gateway.wait_healthy()
        results = under_load(port, None, during=lambda: model_servers.kill_site(na))
        failed = [r for r in results if r[0] != 200]
        assert not failed, f"{len(failed)} of {len(results)} failed: {failed[:5]}"
        assert results[-1][1] == eu

        # The picker gone: the request whose body it held when it went is lost (at most
        # that one: its connection refused, it is ejected at once), then Envoy picks alone
        # and counts the failures it let through.
        picker.stop()
        statuses = [request(port).status for _ in range(10)]
        assert statuses[1:] == [200] * 9, statuses
        assert ext_proc_stats(gateway).get("failure_mode_allowed", 0) > after.get(
            "failure_mode_allowed", 0
        )
