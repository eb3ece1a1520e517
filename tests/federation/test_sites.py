"""Sites join the hub with a bootstrap kubeconfig only, and their own credentials reach
their own objects only: refusals are the real API server's (RBAC, or the admission
policy of the chart), answered 403."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from kubernetes import client, config
from kubernetes.client.exceptions import ApiException

from cango_operator.builders.events import EventRecord, Regarding, event_manifest
from cango_operator.devcluster import GpuNodeShape, apply_dev_nodes
from cango_operator.devcluster.federation import (
    Federation,
    accept_site,
    join_site,
    leave_site,
    wait_available,
)
from tests.e2e.harness import API, GROUP, VERSION, wait_for
from tests.federation.harness import (
    CLUSTER_LABEL,
    WORK_GROUP,
    WORK_VERSION,
    FedFleet,
    gpunode_body,
)

pytestmark = [pytest.mark.cluster, pytest.mark.federation]


@pytest.fixture
def site_a(federation: Federation) -> Iterator[client.ApiClient]:
    """A client with site-a's own credentials on the hub (from its agent)."""
    api = config.new_client_from_config(config_file=str(federation.site("site-a").hub_kubeconfig))
    try:
        yield api
    finally:
        api.close()


def refused(call: Any, *args: Any, **kwargs: Any) -> str:
    """The API server's 403 for ``call``, as its message; fails if it was allowed."""
    with pytest.raises(ApiException) as caught:
        call(*args, **kwargs)
    assert caught.value.status == 403, caught.value.body
    return str(caught.value.body)


class TestSiteCredentials:
    def test_a_site_writes_its_own_gpunodes_and_is_refused_everything_else(
        self, fleet: FedFleet, site_a: client.ApiClient
    ) -> None:
        mine = client.CustomObjectsApi(site_a)
        site = fleet.site("a", "site-a")
        other = fleet.site("b", "site-b")
        theirs = fleet.nodes(other, 1)[0]
        own = fleet.name("a-own")
        fleet.gpunodes[own] = "site-a"

        mine.create_cluster_custom_object(
            GROUP, VERSION, "gpunodes", gpunode_body(own, site, "site-a")
        )
        mine.patch_cluster_custom_object_status(
            GROUP, VERSION, "gpunodes", own, {"status": {"powerW": 100.0}}
        )

        message = refused(
            mine.create_cluster_custom_object,
            GROUP,
            VERSION,
            "gpunodes",
            gpunode_body(fleet.name("a-fake"), other, "site-b"),
        )
        assert "compute.cango.io/cluster" in message
        refused(
            mine.patch_cluster_custom_object_status,
            GROUP,
            VERSION,
            "gpunodes",
            theirs,
            {"status": {"powerW": 1.0}},
        )
        refused(
            mine.patch_cluster_custom_object,
            GROUP,
            VERSION,
            "gpunodes",
            own,
            {"metadata": {"labels": {CLUSTER_LABEL: "site-b"}}},
        )
        refused(mine.delete_cluster_custom_object, GROUP, VERSION, "gpunodes", own)
        refused(
            mine.patch_cluster_custom_object_status,
            GROUP,
            VERSION,
            "sites",
            site,
            {"status": {"phase": "Ready"}},
        )
        # Its miners it reports, in its own Sites only (the site-mining controller).
        mining = {"status": {"mining": {"miners": {"mining": 3, "asleep": 1}}}}
        mine.patch_cluster_custom_object_status(GROUP, VERSION, "sites", site, mining)
        message = refused(
            mine.patch_cluster_custom_object_status, GROUP, VERSION, "sites", other, mining
        )
        assert "spec.cluster" in message
        message = refused(
            mine.patch_cluster_custom_object_status,
            GROUP,
            VERSION,
            "sites",
            site,
            {"status": {"mining": {"targetKw": 1}, "power": {"miningTargetKw": 999}}},
        )
        assert "status.mining" in message
        # Its Events about its Sites it writes (into default, where those about
        # cluster-scoped objects live); it may not read or change Events.
        events = client.EventsV1Api(mine.api_client)
        record = EventRecord(Regarding("Site", site), "MinersShed", "Ramp", "2 Sleep")
        body = event_manifest(
            record, controller="compute.cango.io/site-mining", instance="t", now=datetime.now(UTC)
        )
        events.create_namespaced_event("default", body)
        refused(events.list_namespaced_event, "default")
        refused(events.delete_namespaced_event, body["metadata"]["name"], "default")
        refused(
            mine.list_namespaced_custom_object, GROUP, VERSION, fleet.namespace, "inferencejobs"
        )
        refused(
            mine.create_namespaced_custom_object,
            GROUP,
            VERSION,
            fleet.namespace,
            "inferencejobs",
            {"apiVersion": API, "kind": "InferenceJob", "metadata": {"name": "x"}, "spec": {}},
        )
        refused(
            mine.list_namespaced_custom_object, WORK_GROUP, WORK_VERSION, "site-b", "manifestworks"
        )
        # Its own cluster's works it may read (OCM's grant): what runs at the site.
        mine.list_namespaced_custom_object(WORK_GROUP, WORK_VERSION, "site-a", "manifestworks")

    def test_the_node_agent_registers_and_reports_its_gpunode_on_the_hub(
        self, federation: Federation, fleet: FedFleet
    ) -> None:
        site = fleet.site("a", "site-a")
        member = federation.site("site-a")
        name = f"{site}-agent-n1"
        core = client.CoreV1Api(fleet.site_apis["site-a"])
        apply_dev_nodes(core, [GpuNodeShape(name, site, "H100-80GB", 8)])
        fleet.gpunodes[name] = "site-a"

        def agent(cluster: str) -> subprocess.CompletedProcess[str]:
            return subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "cango_operator",
                    "agent",
                    "--once",
                    "--simulate",
                    "--metrics-port",
                    "-1",
                    "--node-name",
                    name,
                    "--kubeconfig",
                    str(member.cluster.kubeconfig),
                    "--hub-kubeconfig",
                    str(member.hub_kubeconfig),
                    "--cluster",
                    cluster,
                ],
                capture_output=True,
                text=True,
                timeout=60,
                check=False,
            )

        # Claiming another cluster with site-a's credentials gets nothing in.
        lying = agent("site-b")
        assert lying.returncode != 0
        assert "compute.cango.io/cluster" in lying.stdout + lying.stderr
        with pytest.raises(ApiException) as missing:
            fleet.custom.get_cluster_custom_object(GROUP, VERSION, "gpunodes", name)
        assert missing.value.status == 404

        honest = agent("site-a")
        assert honest.returncode == 0, honest.stderr
        got = fleet.custom.get_cluster_custom_object(GROUP, VERSION, "gpunodes", name)
        assert got["metadata"]["labels"][CLUSTER_LABEL] == "site-a"
        assert got["spec"]["site"] == site
        # Not owned by the site's Node: the hub has no such Node, its GC would delete it.
        assert not got["metadata"].get("ownerReferences")
        assert got["status"]["lastHeartbeatTime"]
        assert len(got["status"]["gpus"]) == 8


class TestJoining:
    def test_a_site_with_only_a_bootstrap_kubeconfig_waits_for_the_hub_to_accept_it(
        self, federation: Federation
    ) -> None:
        joined = join_site(federation, "site-d")
        try:
            member = joined.site("site-d")
            hub = federation.hub

            def asked() -> bool:
                got = hub.kubectl("get", "managedcluster", "site-d", "-o", "name", check=False)
                return got.returncode == 0

            wait_for("site-d to ask to join", asked, timeout=60)
            time.sleep(3)  # time enough for an agent to get in, were it let in
            spec = hub.kubectl(
                "get", "managedcluster", "site-d", "-o", "jsonpath={.spec.hubAcceptsClient}"
            ).stdout
            assert spec in ("", "false")
            assert not member.hub_kubeconfig.exists()

            accept_site(hub, "site-d")
            wait_available(hub, "site-d")
            wait_for("site-d's own credentials", member.hub_kubeconfig.exists, timeout=60)
            whoami = hub.kubectl(
                "--kubeconfig",
                str(member.hub_kubeconfig),
                "auth",
                "whoami",
                "-o",
                "jsonpath={.status.userInfo.username}",
            ).stdout
            assert whoami.startswith("system:open-cluster-management:site-d:")
        finally:
            leave_site(joined, "site-d")
