"""The pod network's guard, on the real kernel: the preflight names every address of the
pod and Service ranges that would leave through the default route, and the real node
refuses to start (leaving nothing made) when one would."""

from __future__ import annotations

import json
import subprocess
import tempfile
from pathlib import Path

import pytest

from cango_operator.devcluster import LocalCluster
from cango_operator.devcluster.realnode import PodNetwork, network, start_real_node
from cango_operator.devcluster.tools import ensure_kubelet_dir
from cango_operator.errors import ClusterError

pytestmark = pytest.mark.realnode

#: Ranges of these tests only (the real node's are in conftest.NET), unused on this machine.
SPARE = PodNetwork(
    bridge="cango-pf0",
    pod_range="10.247.0.0/16",
    node_subnet="10.247.0.0/24",
    service_range="10.3.0.0/24",
)


def default_route() -> dict[str, str]:
    routes = json.loads(
        subprocess.run(
            ["ip", "-j", "route", "show", "default"], capture_output=True, text=True, check=True
        ).stdout
    )
    assert routes, "this machine has no default route: nothing here could leak"
    route: dict[str, str] = routes[0]
    return route


def test_without_its_routes_every_probe_address_would_leave_and_the_preflight_refuses() -> None:
    gateway = default_route()["gateway"]
    found = network.leaks(SPARE)
    assert len(found) == len(SPARE.probe_addresses()) == 4
    assert all(f"via {gateway}" in f for f in found), found
    with pytest.raises(ClusterError, match="refusing to start the real node"):
        network.preflight(SPARE)


def test_set_up_closes_every_range_and_tear_down_removes_what_it_made() -> None:
    forward = network.set_up(SPARE)
    try:
        assert network.leaks(SPARE) == []
        pod = network.route_of(SPARE.probe_addresses()[0])
        assert pod is not None and pod["dev"] == SPARE.bridge and "gateway" not in pod
        for address in SPARE.probe_addresses()[1:]:
            assert network.route_of(address) is None, address  # unreachable
        assert network.residue(SPARE)  # the check sees what is there
    finally:
        network.tear_down(SPARE, forward)
    assert network.residue(SPARE) == []


def test_the_node_refuses_to_start_when_part_of_its_range_leaves(
    cluster: LocalCluster,
) -> None:
    route = default_route()
    node_dirs = set(Path(tempfile.gettempdir()).glob("cango-realnode-*"))
    beyond = SPARE.probe_addresses()[1]  # in the pod range, outside the node's subnet
    leak = f"{beyond.rsplit('.', 1)[0]}.0/24"
    subprocess.run(
        ["ip", "route", "add", leak, "via", route["gateway"], "dev", route["dev"]], check=True
    )
    try:
        with pytest.raises(ClusterError, match=f"{beyond} would go out via {route['gateway']}"):
            start_real_node(cluster, ensure_kubelet_dir(), [], {}, net=SPARE)
    finally:
        subprocess.run(["ip", "route", "del", leak], check=True)
    # Nothing was started or left: the routes, the bridge and the rule went again.
    assert network.residue(SPARE) == []
    assert set(Path(tempfile.gettempdir()).glob("cango-realnode-*")) == node_dirs
