"""Snapshots of the cluster during the demo: what the report and the view are computed from.

:func:`build_snapshot` turns the raw objects the API server returned (Sites, GpuNodes,
InferenceJobs, Deployments, Pods, Nodes as plain JSON dicts) into plain values. Nothing
here reads the scenario: a site's power budget, price and latency come from its Site
object (status where the operator wrote it, else spec), a replica's power from its job
and its node's GpuNode, whether it serves from its pod and its site.

Two worlds are measured side by side: ``cango`` (InferenceJobs placed by the operator)
and ``baseline`` (the same jobs as plain Deployments, see :mod:`.baseline`).

A federated demo reads Sites, GpuNodes and jobs from the hub and Deployments, pods and
Nodes from every site cluster; each Deployment and pod then carries the name of the
cluster it was read from (:data:`CLUSTER_FIELD`), as the same namespace and name may
exist in two clusters.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from cango_operator.api import budget
from cango_operator.api.gpunode import POWER_LIMIT_ANNOTATION, parse_power_limit
from cango_operator.builders.labels import JOB_LABEL, MANAGED_BY, MANAGED_BY_LABEL
from cango_operator.demo.baseline import JOB_ANNOTATION
from cango_operator.demo.fleet import (
    BASELINE_FLEET,
    CANGO_FLEET,
    DEMO_SITE_LABEL,
    FLEET_LABEL,
    POWER_ANNOTATION,
)
from cango_operator.devcluster.nodes import GPU_MODEL_LABEL, GPU_RESOURCE
from cango_operator.errors import ConfigError

WORLDS = (CANGO_FLEET, BASELINE_FLEET)
OFFLINE = "Offline"
#: Added to each Deployment and pod read from a federation's site cluster: its name.
CLUSTER_FIELD = "demoCluster"


@dataclass(frozen=True)
class SiteSample:
    """A site as its Site object says at one moment."""

    name: str
    region: str
    phase: str  # status.phase ("" before the operator wrote one)
    powered: bool  # grid connected: capacity > 0 and not Offline
    budget_kw: float  # what GPU work may draw: capacity - reserve - other load + sheddable
    available_kw: float | None  # the operator's status.power.availableKw
    price_usd_per_mwh: float
    pue: float
    latency_ms: Mapping[str, float]
    cluster: str = ""  # the site cluster it runs in ("": the operator's own)
    capacity_kw: float = 0.0
    reserve_kw: float = 0.0
    mining_kw: float = 0.0  # the meter's mining (status.power.otherLoadKw), else spec loadKw
    nominal_mining_kw: float = 0.0  # spec mining.loadKw: mining nobody sheds
    curtailable_kw: float = 0.0
    mining_target_kw: float | None = None  # the operator's status.power.miningTargetKw


@dataclass(frozen=True)
class ReplicaSample:
    """One pod of a job."""

    world: str
    job: str  # <namespace>/<name> of the InferenceJob
    pod: str  # uid
    node: str
    site: str
    gpus: int
    power_w: float
    serving: bool  # Running, Ready, not being deleted, its node and site powered


@dataclass(frozen=True)
class JobSample:
    """One job (InferenceJob or its baseline Deployment)."""

    world: str
    job: str
    desired: int
    phase: str
    client_region: str
    max_latency_ms: float


@dataclass(frozen=True)
class Snapshot:
    real_s: float  # real seconds since the day started
    sim_s: float  # simulated seconds since the day started
    sites: Mapping[str, SiteSample]
    jobs: tuple[JobSample, ...]
    replicas: tuple[ReplicaSample, ...]
    gpus_total: Mapping[str, int]  # world -> GPUs on its fleet's nodes
    gpus_by_site: Mapping[tuple[str, str], int] = field(default_factory=dict)  # (world, site)

    def jobs_of(self, world: str) -> list[JobSample]:
        return [j for j in self.jobs if j.world == world]

    def replicas_of(self, world: str) -> list[ReplicaSample]:
        return [r for r in self.replicas if r.world == world]

    def serving_by_job(self, world: str) -> dict[str, int]:
        counts: dict[str, int] = {}
        for r in self.replicas:
            if r.world == world and r.serving:
                counts[r.job] = counts.get(r.job, 0) + 1
        return counts


@dataclass
class PodRecord:
    """What the samples learnt about one pod over its life (for time to Running)."""

    uid: str
    world: str
    job: str
    node: str
    ready_at: datetime | None = None
    gone_real_s: float | None = None  # first sample that no longer saw it


@dataclass
class JobRecord:
    world: str
    job: str
    created: datetime
    desired: int
    pods: dict[str, PodRecord] = field(default_factory=dict)


# -- reading raw objects ------------------------------------------------------------------


def parse_time(value: object) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def _num(value: object, default: float) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return default
    return float(value)


def _meta(obj: Mapping[str, Any]) -> Mapping[str, Any]:
    meta: Mapping[str, Any] = obj.get("metadata") or {}
    return meta


def key_of(obj: Mapping[str, Any]) -> str:
    meta = _meta(obj)
    return f"{meta.get('namespace', '')}/{meta.get('name', '')}"


def site_sample(site: Mapping[str, Any]) -> SiteSample:
    spec = site.get("spec") or {}
    status = site.get("status") or {}
    power_spec = spec.get("power") or {}
    power_status = status.get("power") or {}
    mining = spec.get("mining") or {}
    capacity = _num(power_status.get("capacityKw"), _num(power_spec.get("capacityKw"), 0.0))
    other = _num(power_status.get("otherLoadKw"), _num(mining.get("loadKw"), 0.0))
    reserve = _num(power_spec.get("reserveKw"), 0.0)
    sheddable = budget.sheddable(
        _num(mining.get("curtailableKw"), 0.0), other, _num(mining.get("loadKw"), 0.0)
    )
    phase = str(status.get("phase") or "")
    latency = {str(k): float(v) for k, v in (spec.get("latencyMs") or {}).items()}
    latency.update({str(k): float(v) for k, v in (status.get("latencyMs") or {}).items()})
    available = power_status.get("availableKw")
    target = power_status.get("miningTargetKw")
    return SiteSample(
        name=str(_meta(site).get("name")),
        region=str(spec.get("region") or ""),
        cluster=str(spec.get("cluster") or ""),
        phase=phase,
        powered=capacity > 0 and phase != OFFLINE,
        budget_kw=capacity - reserve - other + sheddable,
        available_kw=None if available is None else _num(available, 0.0),
        price_usd_per_mwh=_num(
            status.get("energyPriceUsdPerMwh"), _num(spec.get("energyPriceUsdPerMwh"), 0.0)
        ),
        pue=_num(power_spec.get("pue"), 1.0),
        latency_ms=latency,
        capacity_kw=capacity,
        reserve_kw=reserve,
        mining_kw=other,
        nominal_mining_kw=_num(mining.get("loadKw"), 0.0),
        curtailable_kw=_num(mining.get("curtailableKw"), 0.0),
        mining_target_kw=None if target is None else _num(target, 0.0),
    )


def pod_gpus(pod: Mapping[str, Any]) -> int:
    total = 0
    for container in (pod.get("spec") or {}).get("containers") or []:
        resources = container.get("resources") or {}
        value = (resources.get("limits") or {}).get(GPU_RESOURCE) or (
            resources.get("requests") or {}
        ).get(GPU_RESOURCE)
        total += int(str(value)) if value is not None else 0
    return total


def pod_ready_time(pod: Mapping[str, Any]) -> datetime | None:
    for cond in (pod.get("status") or {}).get("conditions") or []:
        if cond.get("type") == "Ready" and cond.get("status") == "True":
            return parse_time(cond.get("lastTransitionTime"))
    return None


def pod_deployment(pod: Mapping[str, Any]) -> str | None:
    """``<namespace>/<deployment>`` from the pod's ReplicaSet owner and template hash."""
    meta = _meta(pod)
    hash_ = (meta.get("labels") or {}).get("pod-template-hash")
    for owner in meta.get("ownerReferences") or []:
        if owner.get("kind") == "ReplicaSet" and hash_:
            name = str(owner.get("name"))
            return f"{meta.get('namespace')}/{name.removesuffix('-' + str(hash_))}"
    return None


def cluster_of(obj: Mapping[str, Any]) -> str:
    """The site cluster an object was read from ("" in the single-cluster demo)."""
    return str(obj.get(CLUSTER_FIELD) or "")


def deployment_job(deployment: Mapping[str, Any]) -> tuple[str, str] | None:
    """(world, job key) of a Deployment: the operator's for an InferenceJob (its owner, or,
    at a federation's site where nothing owns it, its job label), or a baseline stand-in."""
    meta = _meta(deployment)
    for owner in meta.get("ownerReferences") or []:
        if owner.get("kind") == "InferenceJob":
            return CANGO_FLEET, f"{meta.get('namespace')}/{owner.get('name')}"
    labels = meta.get("labels") or {}
    if labels.get(MANAGED_BY_LABEL) == MANAGED_BY and labels.get(JOB_LABEL):
        return CANGO_FLEET, f"{meta.get('namespace')}/{labels[JOB_LABEL]}"
    mirrored = (meta.get("annotations") or {}).get(JOB_ANNOTATION)
    if mirrored:
        return BASELINE_FLEET, str(mirrored)
    return None


def _baseline_phase(desired: int, ready: int) -> str:
    if ready >= desired:
        return "Running"
    return "Degraded" if ready else "Pending"


def _template_replicas(replica_set: Mapping[str, Any]) -> int:
    """Replicas of the Deployment a baseline ManifestWorkReplicaSet carries."""
    template = (replica_set.get("spec") or {}).get("manifestWorkTemplate") or {}
    for manifest in (template.get("workload") or {}).get("manifests") or []:
        if manifest.get("kind") == "Deployment":
            return int((manifest.get("spec") or {}).get("replicas") or 0)
    return 0


@dataclass(frozen=True)
class ClusterObjects:
    """The raw lists one sample read from the API server (from the hub and every site
    cluster, federated)."""

    sites: list[dict[str, Any]]
    gpunodes: list[dict[str, Any]]
    jobs: list[dict[str, Any]]
    deployments: list[dict[str, Any]]
    pods: list[dict[str, Any]]
    nodes: list[dict[str, Any]]
    #: The baseline's ManifestWorkReplicaSets on a federation's hub (none on one cluster).
    replica_sets: list[dict[str, Any]] = field(default_factory=list)


def _job_power_w(
    job_spec: Mapping[str, Any], gpus: int, model_power_w: float, cap_w: float | None = None
) -> float:
    """A replica's power: its estimate, or its GPUs at full power; on a node whose GPUs
    are capped (the GpuNode's power-limit annotation), at most the cap's share of it."""
    estimated = job_spec.get("estimatedPowerW")
    power = _num(estimated, 0.0) if estimated is not None else gpus * model_power_w
    if cap_w is not None and 0 < cap_w < model_power_w:
        power *= cap_w / model_power_w
    return power


def _caps_w(gpunodes: Iterable[Mapping[str, Any]]) -> dict[str, float]:
    """Per-GPU power limits the operator asked for, by GpuNode (= node) name."""
    caps: dict[str, float] = {}
    for g in gpunodes:
        value = (_meta(g).get("annotations") or {}).get(POWER_LIMIT_ANNOTATION)
        try:
            watts = parse_power_limit(None if value is None else str(value))
        except ConfigError:
            continue
        if watts is not None:
            caps[str(_meta(g).get("name"))] = watts
    return caps


def _baseline_counts(objects: ClusterObjects) -> dict[str, tuple[int, int]]:
    """Desired and ready replicas of each baseline job, summed over its Deployments in
    every cluster; a job placed through OCM counts from its replica set on, before any
    Deployment exists (desired from its template, nothing ready)."""
    counts: dict[str, tuple[int, int]] = {}
    for deployment in objects.deployments:
        owner = deployment_job(deployment)
        if owner is None or owner[0] != BASELINE_FLEET:
            continue
        desired, ready = counts.get(owner[1], (0, 0))
        counts[owner[1]] = (
            desired + int((deployment.get("spec") or {}).get("replicas") or 0),
            ready + int((deployment.get("status") or {}).get("readyReplicas") or 0),
        )
    for replica_set in objects.replica_sets:
        mirrored = (_meta(replica_set).get("annotations") or {}).get(JOB_ANNOTATION)
        if mirrored and str(mirrored) not in counts:
            counts[str(mirrored)] = (_template_replicas(replica_set), 0)
    return counts


def build_snapshot(real_s: float, sim_s: float, objects: ClusterObjects) -> Snapshot:
    """Turn one read of the cluster into a :class:`Snapshot`."""
    sites = {s.name: s for s in (site_sample(o) for o in objects.sites)}
    model_power = {
        str(((g.get("spec") or {}).get("gpu") or {}).get("model")): _num(
            ((g.get("spec") or {}).get("gpu") or {}).get("maxPowerW"), 0.0
        )
        for g in objects.gpunodes
    }
    caps = _caps_w(objects.gpunodes)
    nodes: dict[str, tuple[str, str, str]] = {}  # name -> (fleet, site, model)
    dark: set[str] = set()
    gpus_total = dict.fromkeys(WORLDS, 0)
    gpus_by_site: dict[tuple[str, str], int] = {}
    for node in objects.nodes:
        labels = _meta(node).get("labels") or {}
        fleet = labels.get(FLEET_LABEL)
        if fleet not in gpus_total:
            continue
        name = str(_meta(node).get("name"))
        nodes[name] = (
            fleet,
            str(labels.get(DEMO_SITE_LABEL, "")),
            str(labels.get(GPU_MODEL_LABEL, "")),
        )
        if (_meta(node).get("annotations") or {}).get(POWER_ANNOTATION) == "off":
            dark.add(name)
        alloc = int(str(((node.get("status") or {}).get("allocatable") or {}).get(GPU_RESOURCE, 0)))
        gpus_total[fleet] += alloc
        site_key = (fleet, str(labels.get(DEMO_SITE_LABEL, "")))
        gpus_by_site[site_key] = gpus_by_site.get(site_key, 0) + alloc
    # A site whose every node is marked powered off is dark, whatever its Site says yet.
    sites_with_nodes = {site for _, site, _ in nodes.values()}
    lit = {nodes[n][1] for n in nodes if n not in dark}
    for name in sites_with_nodes - lit:
        if name in sites:
            sites[name] = replace(sites[name], powered=False)
    job_specs = {key_of(j): j for j in objects.jobs}
    deployments = {(cluster_of(d), key_of(d)): d for d in objects.deployments}
    jobs: list[JobSample] = []
    for key, job in job_specs.items():
        spec, status = job.get("spec") or {}, job.get("status") or {}
        placement = spec.get("placement") or {}
        jobs.append(
            JobSample(
                CANGO_FLEET,
                key,
                int(spec.get("replicas") or 0),
                str(status.get("phase") or "Pending"),
                str(placement.get("clientRegion") or ""),
                _num(placement.get("maxLatencyMs"), float("inf")),
            )
        )
    for job_key, (desired, ready) in _baseline_counts(objects).items():
        mirrored = job_specs.get(job_key, {})
        placement = (mirrored.get("spec") or {}).get("placement") or {}
        jobs.append(
            JobSample(
                BASELINE_FLEET,
                job_key,
                desired,
                _baseline_phase(desired, ready),
                str(placement.get("clientRegion") or ""),
                _num(placement.get("maxLatencyMs"), float("inf")),
            )
        )
    replicas: list[ReplicaSample] = []
    for pod in objects.pods:
        deployment_key = pod_deployment(pod)
        owning = deployments.get((cluster_of(pod), deployment_key or ""))
        owner = deployment_job(owning) if owning is not None else None
        node_name = str((pod.get("spec") or {}).get("nodeName") or "")
        if owner is None or node_name not in nodes:
            continue
        fleet, site_name, model = nodes[node_name]
        site = sites.get(site_name)
        gpus = pod_gpus(pod)
        job_spec = (job_specs.get(owner[1]) or {}).get("spec") or {}
        status = pod.get("status") or {}
        serving = (
            status.get("phase") == "Running"
            and pod_ready_time(pod) is not None
            and not _meta(pod).get("deletionTimestamp")
            and site is not None
            and site.powered
            and node_name not in dark
        )
        replicas.append(
            ReplicaSample(
                world=owner[0],
                job=owner[1],
                pod=str(_meta(pod).get("uid")),
                node=node_name,
                site=site_name,
                gpus=gpus,
                power_w=_job_power_w(
                    job_spec, gpus, model_power.get(model, 0.0), caps.get(node_name)
                ),
                serving=bool(serving),
            )
        )
    return Snapshot(real_s, sim_s, sites, tuple(jobs), tuple(replicas), gpus_total, gpus_by_site)


def _baseline_created(objects: ClusterObjects) -> dict[str, datetime]:
    first: dict[str, datetime] = {}
    stand_ins = [(deployment_job(d), d) for d in objects.deployments]
    stand_ins += [
        ((BASELINE_FLEET, str(mirrored)), r)
        for r in objects.replica_sets
        if (mirrored := (_meta(r).get("annotations") or {}).get(JOB_ANNOTATION))
    ]
    for owner, obj in stand_ins:
        when = parse_time(_meta(obj).get("creationTimestamp"))
        if owner is None or owner[0] != BASELINE_FLEET or when is None:
            continue
        if owner[1] not in first or when < first[owner[1]]:
            first[owner[1]] = when
    return first


def record_pods(
    records: dict[tuple[str, str], JobRecord],
    real_s: float,
    objects: ClusterObjects,
    snapshot: Snapshot,
) -> None:
    """Update the per-job pod history with one sample (creation and readiness times)."""
    created = {key_of(j): parse_time(_meta(j).get("creationTimestamp")) for j in objects.jobs}
    # A baseline job was submitted when its first object was made: its replica set
    # (federated), else its first Deployment.
    for job_key, first in _baseline_created(objects).items():
        created[f"{BASELINE_FLEET}:{job_key}"] = first
    for job in snapshot.jobs:
        key = (job.world, job.job)
        when = created.get(job.job if job.world == CANGO_FLEET else f"{job.world}:{job.job}")
        if key not in records and when is not None:
            records[key] = JobRecord(job.world, job.job, when, job.desired)
    pods_by_uid = {str(_meta(p).get("uid")): p for p in objects.pods}
    seen: set[str] = set()
    for replica in snapshot.replicas:
        record = records.get((replica.world, replica.job))
        if record is None:
            continue
        seen.add(replica.pod)
        pod_record = record.pods.setdefault(
            replica.pod, PodRecord(replica.pod, replica.world, replica.job, replica.node)
        )
        if pod_record.ready_at is None:
            pod_record.ready_at = pod_ready_time(pods_by_uid.get(replica.pod, {}))
    for record in records.values():
        for pod_record in record.pods.values():
            if pod_record.uid not in seen and pod_record.gone_real_s is None:
                pod_record.gone_real_s = real_s


def iter_serving(snapshot: Snapshot, world: str) -> Iterable[ReplicaSample]:
    return (r for r in snapshot.replicas if r.world == world and r.serving)
