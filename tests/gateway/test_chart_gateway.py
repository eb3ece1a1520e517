"""The gateway as the chart installs it (``gateway.install``): its Gateway, RBAC and pod
spec as rendered, and the gateway run with the chart's arguments and nothing but a token of
the chart's ServiceAccount serving a tenant's job over HTTPS on the real control plane,
refused nothing by the API server."""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from cango_operator.devcluster import LocalCluster, service_account_kubeconfig
from cango_operator.devcluster.modelservers import ModelServers, PodAddress
from tests.chart.helm import Helm, find
from tests.chart.podsecurity import pod_specs, restricted_violations
from tests.chart.rbac import CLUSTER, Grant, granted, grants
from tests.e2e.conftest import StartOperator
from tests.e2e.harness import Fleet, wait_for
from tests.gateway.harness import (
    GatewayCommand,
    https_request,
    keys_secret,
    self_signed_certificate,
)
from tests.loopback import free_port

RELEASE, NAMESPACE = "cango-operator", "cango-system"
ACCOUNT = "cango-operator-gateway"
KEY = "sk-acme-alice-1"
#: Flags of the Deployment that bind pod addresses; the test serves on loopback ports.
POD_ADDRESS_FLAGS = ("--listen-address", "--admin", "--stats-address", "--config-dir")


def installed(helm: Helm, namespace: str = NAMESPACE, **gateway: Any) -> list[dict[str, Any]]:
    values = {"gateway": {"name": "inference", "install": True, **gateway}}
    return helm.template(values, release=RELEASE, namespace=namespace)


def gateway_objects(objects: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [
        o
        for o in objects
        if o["metadata"]["labels"].get("app.kubernetes.io/component") == "gateway"
    ]


def gateway_args(objects: list[dict[str, Any]]) -> list[str]:
    deployment = find(objects, "Deployment", ACCOUNT)
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    return list(container["args"])


def expected_rules(
    namespace: str, key_namespaces: tuple[str, ...], certificate: str = ""
) -> set[Grant]:
    """What the gateway does (docs/endpoints.md): list routes, pools, pods and Sites, write
    routes' status; its own Gateway only; Secrets by name where keys may be, and its
    listener's certificate."""
    rules = (
        grants(CLUSTER, "gateway.networking.k8s.io", "httproutes", "list")
        | grants(CLUSTER, "gateway.networking.k8s.io", "httproutes/status", "patch")
        | grants(CLUSTER, "inference.networking.k8s.io", "inferencepools", "list")
        | grants(CLUSTER, "", "pods", "list")
        | grants(CLUSTER, "compute.cango.io", "sites", "list")
        | grants(namespace, "gateway.networking.k8s.io", "gateways", "get", "inference")
        | grants(namespace, "gateway.networking.k8s.io", "gateways/status", "patch", "inference")
    )
    for ns in key_namespaces:
        rules |= grants(ns, "", "secrets", "get")
    if certificate:
        rules |= grants(namespace, "", "secrets", "get", certificate)
    return rules


class TestTheChartsGatewayAsRendered:
    def test_nothing_of_it_unless_installed(self, helm: Helm) -> None:
        named = helm.template({"gateway": {"name": "inference"}}, namespace=NAMESPACE)
        assert gateway_objects(named) == []

    def test_a_gateway_and_its_server_on_the_listener_port(self, helm: Helm) -> None:
        objects = installed(helm, port=8443, region="europe")
        gateway = find(objects, "Gateway", "inference")
        assert gateway["metadata"]["namespace"] == NAMESPACE
        (listener,) = gateway["spec"]["listeners"]
        assert listener == {
            "name": "http",
            "protocol": "HTTP",
            "port": 8443,
            "allowedRoutes": {"namespaces": {"from": "All"}},
        }
        args = gateway_args(objects)
        assert args[0] == "gateway"
        assert f"--gateway={NAMESPACE}/inference" in args
        assert "--region=europe" in args
        # Tenants are told the Service's in-cluster name unless gateway.advertise says.
        assert f"--advertise={ACCOUNT}.{NAMESPACE}.svc" in args
        # Envoy's admin interface stays on loopback; only its stats are served outside.
        assert "--admin=127.0.0.1:9901" in args
        assert "--stats-address=0.0.0.0:9902" in args
        ports = {p["name"]: p["port"] for p in find(objects, "Service", ACCOUNT)["spec"]["ports"]}
        assert ports == {"http": 8443, "stats": 9902}
        advertised = gateway_args(installed(helm, advertise="gw.example.com"))
        assert "--advertise=gw.example.com" in advertised
        assert "--endpoint-picker" not in args
        assert "--endpoint-picker" in gateway_args(installed(helm, endpointPicker=True))
        extra = installed(helm, extraArgs=["--spill-at=16"], extraEnv=[{"name": "X", "value": "1"}])
        assert gateway_args(extra)[-1] == "--spill-at=16"
        (container,) = find(extra, "Deployment", ACCOUNT)["spec"]["template"]["spec"]["containers"]
        assert container["env"] == [{"name": "X", "value": "1"}]

    @pytest.mark.parametrize(
        ("keys", "certificate"),
        [((), ""), (("tenant-a", "tenant-b"), ""), ((), "inference-tls")],
        ids=["no-keys", "keys", "https"],
    )
    def test_its_rules_are_exactly_the_documented_ones(
        self, helm: Helm, keys: tuple[str, ...], certificate: str
    ) -> None:
        objects = installed(helm, keyNamespaces=list(keys), tls={"secretName": certificate})
        assert granted(objects, ACCOUNT) == expected_rules(NAMESPACE, keys, certificate)

    def test_with_a_certificate_the_listener_is_https_only(self, helm: Helm) -> None:
        gateway = find(installed(helm, tls={"secretName": "inference-tls"}), "Gateway")
        (listener,) = gateway["spec"]["listeners"]
        assert listener["protocol"] == "HTTPS"
        assert listener["tls"] == {
            "mode": "Terminate",
            "certificateRefs": [{"kind": "Secret", "name": "inference-tls"}],
        }

    def test_its_pod_meets_the_restricted_profile(self, helm: Helm) -> None:
        spec = pod_specs(installed(helm))[f"Deployment/{ACCOUNT}"]
        assert restricted_violations(spec) == []
        (container,) = spec["containers"]
        assert container["securityContext"]["readOnlyRootFilesystem"] is True
        assert container["readinessProbe"]["tcpSocket"] == {"port": "http"}

    def test_installing_without_a_gateway_name_is_refused(self, helm: Helm) -> None:
        proc = helm.template_text({"gateway": {"install": True}}, check=False)
        assert proc.returncode != 0
        assert "gateway.install: needs gateway.name" in proc.stderr, proc.stderr


@dataclass(frozen=True)
class GatewayRelease:
    objects: list[dict[str, Any]]
    gateway: str  # the Deployment's --gateway
    args: list[str]  # its other arguments after `gateway`, less POD_ADDRESS_FLAGS
    kubeconfig: Path  # a token of the chart's gateway ServiceAccount, nothing else
    env: dict[str, str]  # the environment of a command run against the cluster
    workdir: Path

    def start(self, *extra: str) -> GatewayCommand:
        return GatewayCommand(
            self.gateway, self.kubeconfig, self.workdir, self.env, *self.args, *extra
        )


@pytest.fixture
def gateway_release(
    gateway_cluster: LocalCluster,
    helm: Helm,
    fleet: Fleet,
    tmp_path: Path,
) -> Iterator[GatewayRelease]:
    """The chart's gateway objects rendered into the test's namespace (its keys readable
    there, its listener HTTPS with the certificate ``inference-tls``) and applied: the
    Gateway, the ServiceAccount and its RBAC."""
    port = free_port()
    objects = installed(
        helm,
        fleet.namespace,
        port=port,
        keyNamespaces=[fleet.namespace],
        tls={"secretName": "inference-tls"},
    )
    applied = [o for o in gateway_objects(objects) if o["kind"] not in ("Deployment", "Service")]
    manifest = json.dumps({"apiVersion": "v1", "kind": "List", "items": applied})
    gateway_cluster.kubectl("apply", "-f", "-", input_text=manifest)
    command, *args = gateway_args(objects)
    assert command == "gateway"
    (gateway,) = [a.removeprefix("--gateway=") for a in args if a.startswith("--gateway=")]
    try:
        yield GatewayRelease(
            objects,
            gateway,
            [a for a in args if not a.startswith((*POD_ADDRESS_FLAGS, "--gateway="))],
            service_account_kubeconfig(
                gateway_cluster, fleet.namespace, ACCOUNT, tmp_path / "gateway.kubeconfig"
            ),
            gateway_cluster.env(),
            tmp_path,
        )
    finally:
        gateway_cluster.kubectl(
            "delete", "--ignore-not-found", "-f", "-", input_text=manifest, check=False
        )


@pytest.mark.cluster
class TestTheChartsGatewayOnTheControlPlane:
    def test_it_serves_a_tenants_job_with_its_own_account_and_is_refused_nothing(
        self,
        fleet: Fleet,
        gateway_release: GatewayRelease,
        start_operator: StartOperator,
        model_servers: ModelServers,
    ) -> None:
        site = fleet.site("na", latency_ms=10)
        fleet.nodes(site, 1, gpus=2, pod_cidrs=[f"127.{random.randint(100, 250)}.3.0/24"])
        gateway = find(gateway_release.objects, "Gateway", "inference")
        port = gateway["spec"]["listeners"][0]["port"]
        fleet.core.create_namespaced_secret(fleet.namespace, keys_secret("chat-keys", alice=KEY))
        certificate, private_key = self_signed_certificate()
        fleet.core.create_namespaced_secret(
            fleet.namespace,
            {
                "metadata": {"name": "inference-tls"},
                "type": "kubernetes.io/tls",
                "stringData": {"tls.crt": certificate, "tls.key": private_key},
            },
        )
        fleet.job(
            "chat", replicas=1, endpoint={"path": "/v1", "apiKeys": {"secretName": "chat-keys"}}
        )
        start_operator("--standalone", "--gateway", f"{fleet.namespace}/inference")
        served = gateway_release.start("--listen-address", "127.0.0.1")
        try:
            fleet.wait_running()
            (pod,) = fleet.running_pods("chat")
            model_servers.serve([PodAddress(pod.status.pod_ip, 8000, site)])
            # The Service's in-cluster name, accepted by the Gateway API's validation.
            url = wait_for(
                "chat's status.endpoint",
                lambda: fleet.get_job("chat")["status"].get("endpoint"),
                timeout=60,
            )
            assert url == f"https://{ACCOUNT}.{fleet.namespace}.svc:{port}/v1"

            def served_over_https() -> bool:
                try:
                    return https_request(port, certificate, KEY).site == site
                except OSError:
                    return False

            wait_for("the gateway to serve chat over HTTPS", served_over_https, timeout=60)
            assert https_request(port, certificate).status == 401
        finally:
            served.stop()
            print(f"--- gateway log ---\n{served.log_tail()}")
        log = served.log_path.read_text()
        # A refusal is logged with the API's reason (and the namespaces' random names may
        # hold any digits, so no status code is looked for).
        assert "Forbidden" not in log and "cannot read" not in log, log
