"""The chart's RBAC is sufficient: the operator, run as the chart runs it (its rendered
arguments, its peering objects) but authenticated only by a token of the chart's operator
ServiceAccount, completes the e2e scenario, and the API server refuses it nothing. Both
modes: cluster-wide (the default) and restricted to the scenario's namespace
(operator.watchNamespaces)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from cango_operator.devcluster import LocalCluster, service_account_kubeconfig
from tests.chart.helm import Helm, find
from tests.e2e.harness import Fleet, OperatorProcess, install_crds
from tests.e2e.scenarios import delete_job_and_wait_until_its_objects_are_gone, site_outage

pytestmark = pytest.mark.cluster

#: What a pod of the chart gets from the API server to act with; the rest is workload.
IDENTITY_KINDS = {
    "ServiceAccount",
    "ClusterRole",
    "ClusterRoleBinding",
    "Role",
    "RoleBinding",
    "ClusterKopfPeering",
    "KopfPeering",
}
COMPONENT = "app.kubernetes.io/component"
#: Flags of the Deployment that bind pod ports; the harness serves them on free local ports.
POD_PORT_FLAGS = ("--liveness", "--metrics-port")


@dataclass(frozen=True)
class OperatorRelease:
    """The operator's identity objects of one rendered release, applied to the cluster."""

    namespace: str
    service_account: str
    peering: dict[str, Any]  # the peering object the operator's replicas meet in
    args: list[str]  # the Deployment's arguments after `run`, less POD_PORT_FLAGS
    kubeconfig: Path  # a token of the ServiceAccount, nothing else


def operator_identity(objects: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [
        o
        for o in objects
        if o["kind"] in IDENTITY_KINDS and o["metadata"]["labels"].get(COMPONENT) == "operator"
    ]


def run_args(deployment: dict[str, Any]) -> list[str]:
    (container,) = [
        c for c in deployment["spec"]["template"]["spec"]["containers"] if c["name"] == "operator"
    ]
    command, *args = container["args"]
    assert command == "run", container["args"]
    return [a for a in args if not a.startswith(POD_PORT_FLAGS)]


@pytest.fixture
def fleet(cluster: LocalCluster, api_client: Any) -> Iterator[Fleet]:
    made = Fleet(install_crds(cluster), api_client)
    try:
        yield made
    finally:
        made.cleanup()


def peering_object(objects: list[dict[str, Any]]) -> dict[str, Any]:
    (peering,) = [o for o in objects if o["kind"] in ("ClusterKopfPeering", "KopfPeering")]
    return peering


#: Values of each mode; "{jobs}" stands for the scenario's namespace.
MODES: dict[str, dict[str, Any]] = {
    "cluster-wide": {},
    "restricted": {"operator": {"watchNamespaces": ["{jobs}"]}},
}


def mode_values(mode: str, jobs_namespace: str) -> dict[str, Any]:
    text = json.dumps(MODES[mode]).replace("{jobs}", jobs_namespace)
    values: dict[str, Any] = json.loads(text)
    return values


@pytest.fixture(params=list(MODES))
def operator_release(
    request: pytest.FixtureRequest, cluster: LocalCluster, helm: Helm, fleet: Fleet, tmp_path: Path
) -> Iterator[OperatorRelease]:
    """The chart rendered in one mode as a release in a namespace of its own; its operator
    ServiceAccount, RBAC and peering objects applied, and a kubeconfig holding a token of
    that ServiceAccount."""
    release, namespace = fleet.name("op"), fleet.name("system")
    values = mode_values(request.param, fleet.namespace)
    objects = helm.template(values, release=release, namespace=namespace)
    mine = operator_identity(objects)
    (account,) = [o["metadata"]["name"] for o in mine if o["kind"] == "ServiceAccount"]
    identity = json.dumps({"apiVersion": "v1", "kind": "List", "items": mine})
    cluster.kubectl("create", "namespace", namespace)
    try:
        cluster.kubectl("apply", "-f", "-", input_text=identity)
        yield OperatorRelease(
            namespace=namespace,
            service_account=account,
            peering=peering_object(objects),
            args=run_args(find(objects, "Deployment")),
            kubeconfig=service_account_kubeconfig(
                cluster, namespace, account, tmp_path / "operator.kubeconfig"
            ),
        )
    finally:
        cluster.kubectl("delete", "--ignore-not-found", "-f", "-", input_text=identity, check=False)
        cluster.kubectl("delete", "namespace", namespace, "--wait=false", check=False)


class TestTheOperatorWithTheChartServiceAccount:
    def test_it_places_moves_and_cleans_up_jobs_and_is_refused_nothing(
        self, cluster: LocalCluster, fleet: Fleet, operator_release: OperatorRelease, tmp_path: Path
    ) -> None:
        pod = f"{operator_release.service_account}-0"
        operator = OperatorProcess(
            cluster,
            tmp_path,
            "service-account",
            *operator_release.args,
            kubeconfig=operator_release.kubeconfig,
            env={"POD_NAMESPACE": operator_release.namespace, "POD_NAME": pod, "POD_ID": pod},
        )
        try:
            site_outage(fleet, lambda: operator.start().wait_ready())
            delete_job_and_wait_until_its_objects_are_gone(fleet, "chat")
            meta = operator_release.peering["metadata"]
            where = ("-n", meta["namespace"]) if "namespace" in meta else ()
            kind = operator_release.peering["kind"].lower()
            peering = cluster.kubectl("get", *where, kind, meta["name"], "-o", "json")
            assert pod in (json.loads(peering.stdout).get("status") or {}), peering.stdout
        finally:
            operator.stop()
            print(f"----- operator log (tail) -----\n{operator.log_tail(40)}")
        assert operator.refusals() == []
