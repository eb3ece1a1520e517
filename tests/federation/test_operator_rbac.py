"""The chart's RBAC is sufficient for the hub: the operator, run as the chart runs it with
federation.enabled (its rendered arguments, its peering object) but authenticated only by
a token of the chart's operator ServiceAccount, places jobs across the site clusters and
removes them again, and the hub's API server refuses it nothing."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from cango_operator.devcluster import find_tool, service_account_kubeconfig
from cango_operator.devcluster.federation import Federation
from tests.chart.test_operator_with_service_account import operator_identity, run_args
from tests.e2e.harness import OperatorProcess, wait_for
from tests.federation.harness import FedFleet

pytestmark = [pytest.mark.cluster, pytest.mark.federation]

REPO = Path(__file__).absolute().parents[2]
CHART = REPO / "charts" / "cango-operator"
PEERING_CRDS = CHART / "crds" / "kopf.dev_peerings.yaml"


@pytest.fixture
def release(federation: Federation, fleet: FedFleet) -> Iterator[tuple[list[str], str, str]]:
    """The chart's operator identity on the hub: its arguments, namespace, ServiceAccount."""
    hub = federation.hub
    namespace = fleet.name("system")
    rendered = subprocess.run(
        [
            find_tool("helm", hub.bin_dir),
            "template",
            "cango",
            str(CHART),
            "-n",
            namespace,
            "--set",
            "federation.enabled=true",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout
    objects: list[dict[str, Any]] = [o for o in yaml.safe_load_all(rendered) if o]
    mine = operator_identity(objects)
    (account,) = [o["metadata"]["name"] for o in mine if o["kind"] == "ServiceAccount"]
    (deployment,) = [o for o in objects if o["kind"] == "Deployment"]
    identity = json.dumps({"apiVersion": "v1", "kind": "List", "items": mine})
    hub.kubectl("apply", "--server-side", "-f", str(PEERING_CRDS))
    hub.kubectl(
        "wait",
        "--for=condition=Established",
        "--timeout=60s",
        "crd",
        "clusterkopfpeerings.kopf.dev",
    )
    hub.kubectl("create", "namespace", namespace)
    try:
        hub.kubectl("apply", "-f", "-", input_text=identity)
        yield run_args(deployment), namespace, account
    finally:
        hub.kubectl("delete", "--ignore-not-found", "-f", "-", input_text=identity, check=False)


class TestHubOperatorRbac:
    def test_the_operator_with_only_its_service_accounts_token_is_refused_nothing(
        self,
        federation: Federation,
        fleet: FedFleet,
        release: tuple[list[str], str, str],
        tmp_path: Path,
    ) -> None:
        args, namespace, account = release
        assert "--federation" in args
        token = service_account_kubeconfig(
            federation.hub, namespace, account, tmp_path / "operator.kubeconfig"
        )
        for suffix, cluster in (("a", "site-a"), ("b", "site-b"), ("c", "site-c")):
            fleet.nodes(fleet.site(suffix, cluster), 2)
        fleet.job("spread", replicas=3, gpus=8)
        fleet.job("gone", replicas=1)
        op = OperatorProcess(
            federation.hub,
            tmp_path,
            "sa",
            *args,
            "--debounce",
            "0.2",
            kubeconfig=token,
            env={"POD_NAMESPACE": namespace},
        ).start()
        try:
            op.wait_ready()
            fleet.wait_running(["spread", "gone"])
            fleet.delete_job("gone")
            wait_for(
                "the deleted job's works to go",
                lambda: (
                    not [
                        w
                        for w in fleet.works()
                        if w["metadata"]["labels"]["compute.cango.io/job"] == "gone"
                    ]
                ),
                timeout=60,
            )
            wait_for(
                "the jobs to run as planned",
                lambda: not fleet.exactly_as_planned(),
                timeout=60,
                state=fleet.exactly_as_planned,
            )
            assert op.refusals() == []
        finally:
            op.stop()
            print(op.log_tail(30))
