"""The real node's configuration, without starting it: what keeps the pod network on
this machine and the kubelet closed (the real thing: `make test-real-node`)."""

from __future__ import annotations

import ipaddress
from pathlib import Path

from cango_operator.devcluster.nodes import KWOK_ANNOTATION
from cango_operator.devcluster.realnode import PodNetwork
from cango_operator.devcluster.realnode.containerd import ContainerdPaths, config_toml
from cango_operator.devcluster.realnode.controlplane import kwokctl_config
from cango_operator.devcluster.realnode.kubelet import kubelet_config
from cango_operator.devcluster.realnode.network import cni_conflist

NET = PodNetwork()


def test_probe_addresses_cover_the_node_subnet_the_rest_of_the_pod_range_and_services() -> None:
    pod, beyond, first, last = map(ipaddress.ip_address, NET.probe_addresses())
    node = ipaddress.ip_network(NET.node_subnet)
    pods = ipaddress.ip_network(NET.pod_range)
    services = ipaddress.ip_network(NET.service_range)
    assert pod in node and pod != ipaddress.ip_address(NET.gateway)
    assert beyond in pods and beyond not in node
    assert {first, last} <= set(services) and first != last
    assert NET.gateway == "10.244.0.1"


def test_pods_get_the_bridge_as_gateway_and_no_route_at_all(tmp_path: Path) -> None:
    (bridge,) = cni_conflist(NET, tmp_path)["plugins"]
    assert bridge["isGateway"] is True and bridge["isDefaultGateway"] is False
    assert bridge["ipMasq"] is False
    assert bridge["ipam"]["routes"] == []  # no default route in any pod
    assert bridge["ipam"]["ranges"] == [[{"subnet": NET.node_subnet, "gateway": NET.gateway}]]
    assert bridge["ipam"]["dataDir"] == str(tmp_path)  # nothing under /var/lib/cni


def test_the_kubelet_listens_on_loopback_and_lets_no_one_in_anonymously(tmp_path: Path) -> None:
    config = kubelet_config(
        port=12345, socket=tmp_path / "c.sock", cgroup_root="/x", client_ca=tmp_path / "ca"
    )
    assert config["address"] == "127.0.0.1" and config["readOnlyPort"] == 0
    assert config["authentication"]["anonymous"] == {"enabled": False}
    assert config["authorization"] == {"mode": "Webhook"}
    assert config["cgroupDriver"] == "cgroupfs" and config["failCgroupV1"] is False
    assert config["containerRuntimeEndpoint"] == f"unix://{tmp_path / 'c.sock'}"


def test_containerd_keeps_everything_under_its_directory(tmp_path: Path) -> None:
    paths = ContainerdPaths.under(tmp_path)
    toml = config_toml(paths, "localhost/cango-pause:k")
    assert f'root = "{tmp_path}/root"' in toml and f'state = "{tmp_path}/state"' in toml
    assert f'address = "{tmp_path}/containerd.sock"' in toml
    assert "netns_mounts_under_state_dir = true" in toml
    assert 'sandbox_image = "localhost/cango-pause:k"' in toml


def test_kwok_manages_only_the_simulated_nodes(tmp_path: Path) -> None:
    config = kwokctl_config(tmp_path, "c", NET)
    patches = {
        p["name"]: {a["key"]: a["value"] for a in p["extraArgs"]}
        for p in config["componentsPatches"]
    }
    assert patches["kwok-controller"] == {
        "manage-all-nodes": "false",
        "manage-nodes-with-annotation-selector": f"{KWOK_ANNOTATION}=fake",
    }
    assert patches["kube-apiserver"]["service-cluster-ip-range"] == NET.service_range
    assert config["options"] == {"kubeApiserverCertSANs": [NET.gateway]}
