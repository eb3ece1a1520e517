"""Which watch events can change what a round decides or writes, and which cannot.

Most events of a busy fleet change nothing a round reads: a node agent's heartbeat
(``lastHeartbeatTime``, temperatures, utilisation), a kubelet's Node status heartbeat, a
Deployment's ``observedGeneration`` or conditions, the operator's own status writes
coming back through the watch. Each event is reduced here to the *plan inputs* of its
object: exactly the fields some round reads (the engine, the job statuses, the Node
patches, the site aggregates), measured power with a tolerance. A round is requested only
when those differ from the last ones that requested one. The round itself still reads the
full, current indexes; this only decides *whether* to plan, never *what*.

Pure: no kopf, no I/O. :class:`ChangeFilter` keeps the last plan inputs per object.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any

from cango_operator.builders.hashing import stamped_hash
from cango_operator.builders.labels import JOB_LABEL
from cango_operator.operator.projections import (
    current_ready_replicas,
    deleting,
    managed_cluster_entry,
    meta_of,
    namespace_entry,
    node_entry,
    operator_labels,
    status_of,
)

#: Measured power below this change (W) never requests a round by itself.
MIN_POWER_STEP_W = 50.0
#: ... nor a change below this share of the node's or site's nominal power.
POWER_STEP_SHARE = 0.05
#: For a site's power numbers (kW): the smallest step that counts.
MIN_SITE_STEP_KW = 1.0

Measure = tuple[str, float | None, float]


@dataclass(frozen=True)
class PlanInputs:
    """What rounds read from one object: ``exact`` fields compared whole, ``measured``
    values ``(name, value, tolerance)`` compared with their tolerance."""

    exact: tuple[Any, ...]
    measured: tuple[Measure, ...] = ()

    def differs_from(self, before: PlanInputs) -> bool:
        if self.exact != before.exact or len(self.measured) != len(before.measured):
            return True
        for (name, value, tolerance), (old_name, old, _) in zip(
            self.measured, before.measured, strict=True
        ):
            if name != old_name or (value is None) != (old is None):
                return True
            if value is not None and old is not None and abs(value - old) > tolerance:
                return True
        return False


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, default=str)


def _common(body: Mapping[str, Any]) -> tuple[Any, ...]:
    """What every kind shares: its spec (generation alone would miss objects without a
    status subresource) and whether it is being deleted."""
    return (_canonical(body.get("spec")), deleting(body))


def job_inputs(body: Mapping[str, Any]) -> PlanInputs:
    """An InferenceJob: its spec and the placements recorded in its status (the engine
    keeps those). Ready counts, phase, conditions and messages are the operator's own
    output, written by the rounds from other objects."""
    status = status_of(body)
    return PlanInputs((*_common(body), _canonical(status.get("placements"))))


def site_inputs(body: Mapping[str, Any]) -> PlanInputs:
    """A Site: spec, phase, price, measured latency, and the power numbers the engine
    reads (within a tolerance); whether a live feed has reported. Not the GPU and node
    aggregates, which the rounds write."""
    status = status_of(body)
    power = status.get("power") or {}
    capacity = float(((body.get("spec") or {}).get("power") or {}).get("capacityKw") or 0.0)
    step = max(MIN_SITE_STEP_KW, POWER_STEP_SHARE * capacity)
    measured = tuple(
        (key, _number(power.get(key)), step)
        for key in ("capacityKw", "otherLoadKw", "gpuDrawKw", "committedKw")
    )
    exact = (
        *_common(body),
        status.get("phase"),
        status.get("energyPriceUsdPerMwh"),
        _canonical(status.get("latencyMs")),
        power.get("feed") is not None,
    )
    return PlanInputs(exact, measured)


def gpunode_inputs(body: Mapping[str, Any]) -> PlanInputs:
    """A GpuNode: spec, phase, which GPUs are unhealthy, GPUs allocated, whether an agent
    has ever reported, and the node's measured power (within a tolerance). Not the
    heartbeat time (staleness is checked by the clock), temperatures or utilisation."""
    status = status_of(body)
    gpu = ((body.get("spec") or {}).get("gpu")) or {}
    nominal = float(gpu.get("count") or 0) * float(gpu.get("maxPowerW") or 0)
    unhealthy = tuple(
        sorted(
            int(g.get("index", -1)) for g in status.get("gpus") or [] if g.get("healthy") is False
        )
    )
    exact = (
        *_common(body),
        status.get("phase"),
        unhealthy,
        status.get("allocatedGpus"),
        status.get("lastHeartbeatTime") is not None,
    )
    step = max(MIN_POWER_STEP_W, POWER_STEP_SHARE * nominal)
    return PlanInputs(exact, (("powerW", _number(status.get("powerW")), step),))


def node_inputs(body: Mapping[str, Any]) -> PlanInputs:
    """A Kubernetes Node: its record in the index (the operator's labels, taints, cordon,
    Ready, deletion), but for its resourceVersion. Not its status heartbeats, images,
    addresses or capacity."""
    return PlanInputs((replace(node_entry(body), resource_version=""),))


def owned_inputs(body: Mapping[str, Any]) -> PlanInputs:
    """A Deployment or Service of a job: which job, node and template hash, its owner,
    replicas, and ready replicas of the current template. Not observedGeneration,
    conditions or the counts of a rollout in between."""
    meta = meta_of(body)
    owners = tuple(o.get("uid") for o in meta.get("ownerReferences") or [] if o.get("controller"))
    labels = meta.get("labels") or {}
    exact = (
        meta.get("uid"),
        _canonical(operator_labels(labels)),
        stamped_hash(body),
        owners,
        int((body.get("spec") or {}).get("replicas") or 0),
        current_ready_replicas(body),
        deleting(body),
        labels.get(JOB_LABEL),
    )
    return PlanInputs(exact)


def work_inputs(body: Mapping[str, Any]) -> PlanInputs:
    """A ManifestWork: which job, the hash of what it holds, the ready replicas its
    cluster reported per Deployment, deletion. Not its conditions or sync times."""
    meta = meta_of(body)
    ready: list[tuple[str, Any]] = []
    for manifest in (status_of(body).get("resourceStatus") or {}).get("manifests") or []:
        name = (manifest.get("resourceMeta") or {}).get("name", "")
        values = (manifest.get("statusFeedback") or {}).get("values") or []
        ready.append((name, _canonical(values)))
    exact = (
        meta.get("uid"),
        stamped_hash(body),
        tuple(sorted(ready)),
        deleting(body),
        (meta.get("labels") or {}).get(JOB_LABEL),
    )
    return PlanInputs(exact)


def namespace_inputs(body: Mapping[str, Any]) -> PlanInputs:
    """A Namespace (watched only by an operator limited to some namespaces): whether it
    is terminating. Not its labels or status."""
    return PlanInputs((namespace_entry(body).terminating,))


def managed_cluster_inputs(body: Mapping[str, Any]) -> PlanInputs:
    """A ManagedCluster (with ``--federation``): its availability and since when. Not the
    agent's other conditions, its capacity or version."""
    cluster = managed_cluster_entry(body)
    return PlanInputs((cluster.available, cluster.since))


def _number(value: Any) -> float | None:
    return None if value is None else float(value)


INPUTS: Mapping[str, Callable[[Mapping[str, Any]], PlanInputs]] = {
    "inferencejobs": job_inputs,
    "sites": site_inputs,
    "gpunodes": gpunode_inputs,
    "nodes": node_inputs,
    "deployments": owned_inputs,
    "services": owned_inputs,
    "manifestworks": work_inputs,
    "namespaces": namespace_inputs,
    "managedclusters": managed_cluster_inputs,
}


class ChangeFilter:
    """The last plan inputs of every watched object that requested a round.

    ``wants_round`` is true for a kind it does not know, for an object it has not seen,
    for a deletion, and when the plan inputs differ from the last ones that requested a
    round (so slow drifts of measured power add up until they count).
    """

    def __init__(self) -> None:
        self._last: dict[tuple[str, str, str], PlanInputs] = {}
        self.seen = 0
        self.skipped = 0

    def wants_round(self, plural: str, body: Mapping[str, Any], event: str | None) -> bool:
        self.seen += 1
        inputs_of = INPUTS.get(plural)
        if inputs_of is None:
            return True
        meta = meta_of(body)
        key = (plural, str(meta.get("namespace") or ""), str(meta.get("name") or ""))
        if event == "DELETED":
            self._last.pop(key, None)
            return True
        inputs = inputs_of(body)
        before = self._last.get(key)
        if before is not None and not inputs.differs_from(before):
            self.skipped += 1
            return False
        self._last[key] = inputs
        return True

    def __len__(self) -> int:
        return len(self._last)
