"""A fleet spread over the federation's site clusters, made and read on the real APIs.

Sites, GpuNodes and jobs live on the hub; each site names its cluster (spec.cluster), its
nodes are kwok Nodes in that cluster, and its GpuNodes carry that cluster's label as a
site's agent would write them. Every test gets its own prefix, namespace and client
region, so nothing another test left behind can take its jobs.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping, Sequence
from typing import Any

from kubernetes import client, config

from cango_operator.devcluster import apply_dev_nodes
from cango_operator.devcluster.federation import Federation
from cango_operator.devcluster.nodes import node_shapes
from tests.e2e.harness import API, GROUP, VERSION, _quietly, job_body, site_body, wait_for

CLUSTER_LABEL = "compute.cango.io/cluster"
JOB_LABEL = "compute.cango.io/job"
WORK_GROUP, WORK_VERSION = "work.open-cluster-management.io", "v1"


def gpunode_body(name: str, site: str, cluster: str) -> dict[str, Any]:
    """A GpuNode of ``site`` as the agent of ``cluster`` would register it."""
    return {
        "apiVersion": API,
        "kind": "GpuNode",
        "metadata": {"name": name, "labels": {CLUSTER_LABEL: cluster}},
        "spec": {
            "site": site,
            "nodeName": name,
            "gpu": {"model": "H100-80GB", "count": 8, "memoryMiB": 81559, "maxPowerW": 700},
        },
    }


class FedFleet:
    def __init__(self, federation: Federation) -> None:
        self.federation = federation
        self.hub_api = config.new_client_from_config(config_file=str(federation.hub.kubeconfig))
        self.custom = client.CustomObjectsApi(self.hub_api)
        self.hub_core = client.CoreV1Api(self.hub_api)
        self.site_apis = {
            s.name: config.new_client_from_config(config_file=str(s.cluster.kubeconfig))
            for s in federation.sites
        }
        self.prefix = "fed-" + secrets.token_hex(3)
        self.region = f"{self.prefix}-users"
        self.namespace = f"{self.prefix}-jobs"
        self.sites: dict[str, str] = {}  # site -> cluster
        self.gpunodes: dict[str, str] = {}  # GpuNode -> cluster
        self.hub_core.create_namespace({"metadata": {"name": self.namespace}})

    def name(self, suffix: str) -> str:
        return f"{self.prefix}-{suffix}"

    # -- making the fleet ------------------------------------------------------------

    def site(
        self,
        suffix: str,
        cluster: str,
        latency_ms: int = 20,
        feed: dict[str, Any] | None = None,
        *,
        region: str | None = None,
        latency_to: Mapping[str, int] | None = None,
    ) -> str:
        """A Site in ``cluster``; ``feed``: its spec.power.feed (e.g. a test's Meter);
        ``region``: its own (default: the fleet's users'); ``latency_to``: latencies to
        further regions."""
        name = self.name(suffix)
        power: dict[str, Any] = {"capacityKw": 2000, "reserveKw": 10, "pue": 1.1}
        if feed is not None:
            power["feed"] = feed
        body = site_body(
            name, self.region, latency_ms, power, own_region=region, latency_to=latency_to
        )
        body["spec"]["cluster"] = cluster
        self.custom.create_cluster_custom_object(GROUP, VERSION, "sites", body)
        self.sites[name] = cluster
        return name

    def nodes(
        self,
        site: str,
        count: int,
        gpus: int = 8,
        model: str = "H100-80GB",
        pod_cidrs: Sequence[str] = (),
    ) -> list[str]:
        """``pod_cidrs``: one per node, where kwok takes its pods' IPs from."""
        cluster = self.sites[site]
        names = [f"{site}-n{i + 1:03d}" for i in range(count)]
        core = client.CoreV1Api(self.site_apis[cluster])
        apply_dev_nodes(core, node_shapes(names, site, model, gpus, pod_cidrs))
        for name in names:
            body = gpunode_body(name, site, cluster)
            body["spec"]["gpu"]["model"], body["spec"]["gpu"]["count"] = model, gpus
            self.custom.create_cluster_custom_object(GROUP, VERSION, "gpunodes", body)
            self.gpunodes[name] = cluster
        return names

    def job(self, name: str, replicas: int = 1, gpus: int = 1, **spec: Any) -> str:
        body = job_body(name, self.namespace, self.region, replicas, gpu={"count": gpus}, **spec)
        self.custom.create_namespaced_custom_object(
            GROUP, VERSION, self.namespace, "inferencejobs", body
        )
        return name

    def delete_job(self, name: str) -> None:
        self.custom.delete_namespaced_custom_object(
            GROUP, VERSION, self.namespace, "inferencejobs", name
        )

    # -- reading it back ---------------------------------------------------------------

    def site_object(self, name: str) -> dict[str, Any]:
        """The Site on the hub, status included."""
        got: dict[str, Any] = self.custom.get_cluster_custom_object(GROUP, VERSION, "sites", name)
        return got

    def jobs(self) -> dict[str, dict[str, Any]]:
        items = self.custom.list_namespaced_custom_object(
            GROUP, VERSION, self.namespace, "inferencejobs"
        )["items"]
        return {j["metadata"]["name"]: j for j in items}

    def works(self) -> list[dict[str, Any]]:
        """The ManifestWorks on the hub that carry this test's jobs, in every cluster."""
        found: list[dict[str, Any]] = []
        for site in self.federation.sites:
            found += self.custom.list_namespaced_custom_object(
                WORK_GROUP,
                WORK_VERSION,
                site.name,
                "manifestworks",
                label_selector=f"compute.cango.io/job-namespace={self.namespace}",
            )["items"]
        return found

    def deployments(self, cluster: str) -> list[Any]:
        apps = client.AppsV1Api(self.site_apis[cluster])
        return list(apps.list_namespaced_deployment(self.namespace).items)

    def pods(self, cluster: str) -> list[Any]:
        core = client.CoreV1Api(self.site_apis[cluster])
        return [
            p
            for p in core.list_namespaced_pod(self.namespace).items
            if p.metadata.deletion_timestamp is None
        ]

    def phases(self) -> dict[str, str | None]:
        return {n: (j.get("status") or {}).get("phase") for n, j in self.jobs().items()}

    def explain(self) -> dict[str, str]:
        out: dict[str, str] = {}
        for cluster in self.site_apis:
            out[f"(pods {cluster})"] = str(
                sorted((p.metadata.name, p.status.phase) for p in self.pods(cluster))
            )
        for name, job in self.jobs().items():
            status = job.get("status") or {}
            out[name] = (
                f"{status.get('phase')} {status.get('readyReplicas')}/{job['spec']['replicas']}"
                f" {status.get('message') or ''} {status.get('placements')}"
            )
        return out

    def wait_running(self, names: list[str], timeout: float = 120) -> None:
        wait_for(
            "jobs to be Running",
            lambda: all(self.phases().get(n) == "Running" for n in names),
            timeout=timeout,
            state=self.explain,
        )

    def exactly_as_planned(self) -> list[str]:
        """Everything that differs from "each job runs exactly its plan, once, in the
        cluster of each placement's site": per cluster one Deployment per placement line
        there with its replica count, Running pods on the planned nodes, and nothing that
        belongs to no job or to a node of another cluster. Empty when right."""
        problems: list[str] = []
        jobs = self.jobs()
        plans: dict[str, dict[str, dict[str, int]]] = {c: {} for c in self.site_apis}
        for name, job in jobs.items():
            placements = (job.get("status") or {}).get("placements") or []
            if sum(p["replicas"] for p in placements) != job["spec"]["replicas"]:
                problems.append(f"{name}: plan has {placements}")
            for p in placements:
                cluster = self.sites.get(p["site"], "?")
                plans.setdefault(cluster, {}).setdefault(name, {})[p["node"]] = p["replicas"]
        for cluster in self.site_apis:
            deps: dict[str, dict[str, int]] = {}
            for dep in self.deployments(cluster):
                job = dep.metadata.labels.get(JOB_LABEL, "?")
                node = dep.metadata.labels.get("compute.cango.io/node", "?")
                if node in deps.setdefault(job, {}):
                    problems.append(f"{cluster}: two Deployments of {job} on {node}")
                deps[job][node] = dep.spec.replicas
            running: dict[str, dict[str, int]] = {}
            for pod in self.pods(cluster):
                job = (pod.metadata.labels or {}).get(JOB_LABEL, "?")
                if pod.status.phase == "Running":
                    by_node = running.setdefault(job, {})
                    by_node[pod.spec.node_name] = by_node.get(pod.spec.node_name, 0) + 1
                else:
                    problems.append(f"{cluster}: pod {pod.metadata.name} is {pod.status.phase}")
            want = plans.get(cluster, {})
            for job in sorted(set(deps) | set(want)):
                if deps.get(job, {}) != want.get(job, {}):
                    problems.append(f"{cluster}: Deployments of {job} {deps.get(job)} vs plan")
            for job in sorted(set(running) | set(want)):
                if running.get(job, {}) != want.get(job, {}):
                    problems.append(f"{cluster}: running pods of {job} {running.get(job)} vs plan")
        return problems

    # -- cleaning up -------------------------------------------------------------------

    def cleanup(self) -> None:
        _quietly(self.hub_core.delete_namespace, self.namespace)
        for name, cluster in self.gpunodes.items():
            _quietly(self.custom.delete_cluster_custom_object, GROUP, VERSION, "gpunodes", name)
            _quietly(client.CoreV1Api(self.site_apis[cluster]).delete_node, name)
        for name in self.sites:
            _quietly(self.custom.delete_cluster_custom_object, GROUP, VERSION, "sites", name)
        for work in self.works():
            meta = work["metadata"]
            _quietly(
                self.custom.delete_namespaced_custom_object,
                WORK_GROUP,
                WORK_VERSION,
                meta["namespace"],
                "manifestworks",
                meta["name"],
            )
        for api in self.site_apis.values():
            _quietly(client.CoreV1Api(api).delete_namespace, self.namespace)
            api.close()
        self.hub_api.close()


def running_pods(fleet: FedFleet, cluster: str) -> set[tuple[str, str]]:
    """(name, uid) of the Running pods of the fleet's namespace in ``cluster``."""
    return {
        (p.metadata.name, p.metadata.uid)
        for p in fleet.pods(cluster)
        if p.status.phase == "Running"
    }
