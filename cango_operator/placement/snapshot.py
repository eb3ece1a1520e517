"""The engine's input: a frozen, typed picture of the fleet and the work at one moment.

Everything the engine decides from is in a :class:`Snapshot`; nothing is read from
elsewhere, so the same snapshot always gives the same plan. Field names follow docs/api.md in
snake case (``capacityKw`` -> ``capacity_kw``). Construction checks each value and raises
:class:`SnapshotError` naming the object and the API field, so a bad manifest or a bad
status surfaces as one clear line.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from cango_operator.api import budget, enums
from cango_operator.errors import CangoError

# The phases and the objective are the API's own enums, defined once.
#: ``Site.status.phase``: Ready and Degraded take new work, the others take none.
SitePhase = enums.SitePhase
#: ``GpuNode.status.phase``: Ready and Degraded (on their healthy GPUs) take new work.
NodePhase = enums.GpuNodePhase
#: ``InferenceJob.spec.placement.objective``: which scores weigh most.
Objective = enums.Objective


class SnapshotError(CangoError, ValueError):
    """A snapshot value is out of range or inconsistent (names object and field)."""


def _enum(obj: object, attr: str, kind: type[StrEnum], where: str) -> None:
    """Accept the enum or its string value (as manifests give it); refuse anything else."""
    value = getattr(obj, attr)
    try:
        object.__setattr__(obj, attr, kind(value))
    except ValueError:
        allowed = ", ".join(k.value for k in kind)
        raise SnapshotError(f"{where}: must be one of {allowed}, got {value!r}") from None


def _check(ok: bool, where: str, message: str) -> None:
    if not ok:
        raise SnapshotError(f"{where}: {message}")


def _finite_at_least(value: float, low: float, where: str) -> None:
    _check(
        isinstance(value, int | float) and math.isfinite(value) and value >= low,
        where,
        f"must be a number >= {low:g}, got {value!r}",
    )


def _int_between(value: int, low: int, high: int, where: str) -> None:
    _check(
        isinstance(value, int) and not isinstance(value, bool) and low <= value <= high,
        where,
        f"must be an integer {low}..{high}, got {value!r}",
    )


def _share(value: float, where: str) -> None:
    _check(
        isinstance(value, int | float) and math.isfinite(value) and 0 < value <= 1,
        where,
        f"must be a share in (0, 1], got {value!r}",
    )


@dataclass(frozen=True, slots=True, kw_only=True)
class SiteState:
    """One mining site: its power budget, price, latency to client regions and phase.

    ``available_kw`` follows docs/api.md: capacity - reserve - other load - max(GPU draw,
    committed) + the mining it may still shed (api/budget.py), floored at 0.
    """

    name: str
    region: str
    capacity_kw: float
    reserve_kw: float = 0.0
    other_load_kw: float = 0.0
    gpu_draw_kw: float = 0.0
    committed_kw: float = 0.0
    mining_load_kw: float = 0.0
    curtailable_kw: float = 0.0
    #: the Site's mining.loadKw: what runs unshed (None: ``mining_load_kw``)
    mining_nominal_kw: float | None = None
    pue: float = 1.0
    phase: SitePhase = SitePhase.READY
    cordoned: bool = False
    energy_price_usd_per_mwh: float = 0.0
    latency_ms: Mapping[str, float] = field(default_factory=dict)
    #: revenue of a kWh of the mining GPU work would displace (api/revenue.py); None: unknown
    mining_usd_per_kwh: float | None = None
    #: the lowest share of maxPowerW its GPUs may be capped to; None: never capped
    gpu_power_cap_share: float | None = None

    def __post_init__(self) -> None:
        where = f"site {self.name!r}"
        _check(bool(self.name), "site", "name must not be empty")
        _check(bool(self.region), where, "region must not be empty")
        _enum(self, "phase", SitePhase, f"{where}: phase")
        # Capacity may be 0 here: a feed reporting no power (the site is then Offline).
        for label, value in (
            ("capacityKw", self.capacity_kw),
            ("reserveKw", self.reserve_kw),
            ("otherLoadKw", self.other_load_kw),
            ("gpuDrawKw", self.gpu_draw_kw),
            ("committedKw", self.committed_kw),
            ("mining.loadKw", self.mining_load_kw),
            ("mining.curtailableKw", self.curtailable_kw),
            ("nominal mining.loadKw", self.nominal_kw),
        ):
            _finite_at_least(value, 0.0, f"{where}: {label}")
        _finite_at_least(self.energy_price_usd_per_mwh, -1e6, f"{where}: energyPriceUsdPerMwh")
        if self.mining_usd_per_kwh is not None:
            _finite_at_least(self.mining_usd_per_kwh, 0.0, f"{where}: mining revenue per kWh")
        if self.gpu_power_cap_share is not None:
            _share(self.gpu_power_cap_share, f"{where}: power.gpuPowerCapShare")
        _finite_at_least(self.pue, 1.0, f"{where}: pue")
        _check(self.pue <= 3.0, f"{where}: pue", f"must be 1.0..3.0, got {self.pue!r}")
        for region, ms in self.latency_ms.items():
            _finite_at_least(ms, 0.0, f"{where}: latencyMs.{region}")

    @property
    def base_kw(self) -> float:
        return budget.base(self.capacity_kw, self.reserve_kw, self.other_load_kw)

    @property
    def sheddable_kw(self) -> float:
        return budget.sheddable(self.curtailable_kw, self.mining_load_kw, self.nominal_kw)

    @property
    def nominal_kw(self) -> float:
        """Mining as it runs unshed."""
        return self.mining_load_kw if self.mining_nominal_kw is None else self.mining_nominal_kw

    @property
    def available_kw(self) -> float:
        """What a new placement may use now, per docs/api.md (never negative)."""
        need = budget.gpu_need(self.gpu_draw_kw, self.committed_kw)
        return max(0.0, budget.available(self.base_kw, need, self.sheddable_kw))


@dataclass(frozen=True, slots=True, kw_only=True)
class NodeState:
    """One GPU node. ``healthy_gpus`` (default: all) are the GPUs new work may use.

    ``allocated_gpus`` is ``status.allocatedGpus``: GPUs already given out, which the engine
    counts as used even when the snapshot does not list the placements that hold them.
    """

    name: str
    site: str
    gpu_model: str
    gpu_count: int
    gpu_memory_mib: int = 0
    gpu_max_power_w: float = 0.0
    healthy_gpus: int | None = None
    allocated_gpus: int = 0
    phase: NodePhase = NodePhase.READY
    unschedulable: bool = False
    #: the share of maxPowerW its GPUs are capped to (1.0: not capped)
    power_share: float = 1.0

    def __post_init__(self) -> None:
        where = f"GpuNode {self.name!r}"
        _check(bool(self.name), "GpuNode", "name must not be empty")
        _check(bool(self.site), f"{where}: site", "must not be empty")
        _enum(self, "phase", NodePhase, f"{where}: phase")
        _int_between(self.gpu_count, 1, 16, f"{where}: gpu.count")
        _int_between(self.gpu_memory_mib, 0, 10**7, f"{where}: gpu.memoryMiB")
        _finite_at_least(self.gpu_max_power_w, 0.0, f"{where}: gpu.maxPowerW")
        if self.healthy_gpus is not None:
            _int_between(self.healthy_gpus, 0, self.gpu_count, f"{where}: healthy GPUs")
        _int_between(self.allocated_gpus, 0, 10**6, f"{where}: allocatedGpus")
        _share(self.power_share, f"{where}: power cap share")

    @property
    def usable_gpus(self) -> int:
        """GPUs that may run work: the healthy ones."""
        return self.gpu_count if self.healthy_gpus is None else self.healthy_gpus


@dataclass(frozen=True, slots=True, kw_only=True)
class JobRequest:
    """One InferenceJob's wish: how many replicas, of what, where, and how important.

    ``estimated_power_w`` is per replica; ``None`` means gpu_count x the node's maxPowerW.
    ``max_latency_ms`` ``None`` means no latency SLO; ``client_region`` ``None`` means no
    latency preference either. ``max_moves_per_round``: running replicas the improvement
    stage may move in one plan for a better one (0: running replicas stay where they are).
    """

    namespace: str
    name: str
    replicas: int
    gpu_count: int = 1
    gpu_models: tuple[str, ...] = ()
    min_memory_mib: int = 0
    estimated_power_w: float | None = None
    client_region: str | None = None
    max_latency_ms: float | None = None
    allowed_regions: tuple[str, ...] = ()
    min_sites: int = 1
    max_replicas_per_site: int = 0
    max_moves_per_round: int = 0
    objective: Objective = Objective.BALANCED
    priority: int = 0
    preemptible: bool = True
    #: what a GPU-hour of the job earns (USD); None: GPU work wins over mining
    value_usd_per_gpu_hour: float | None = None

    def __post_init__(self) -> None:
        where = f"InferenceJob {self.key}"
        if self.value_usd_per_gpu_hour is not None:
            _finite_at_least(self.value_usd_per_gpu_hour, 0.0, f"{where}: valueUsdPerGpuHour")
        _check(bool(self.namespace) and bool(self.name), where, "namespace and name required")
        _int_between(self.replicas, 0, 1000, f"{where}: replicas")
        _int_between(self.gpu_count, 1, 16, f"{where}: gpu.count")
        _int_between(self.min_memory_mib, 0, 10**7, f"{where}: gpu.minMemoryMiB")
        if self.estimated_power_w is not None:
            _finite_at_least(self.estimated_power_w, 0.0, f"{where}: estimatedPowerW")
        if self.max_latency_ms is not None:
            _finite_at_least(self.max_latency_ms, 0.0, f"{where}: placement.maxLatencyMs")
            _check(
                self.client_region is not None,
                f"{where}: placement.clientRegion",
                "required when maxLatencyMs is set",
            )
        _int_between(self.min_sites, 1, 1000, f"{where}: placement.minSites")
        _int_between(self.max_replicas_per_site, 0, 1000, f"{where}: placement.maxReplicasPerSite")
        _int_between(self.max_moves_per_round, 0, 1000, f"{where}: placement.maxMovesPerRound")
        _int_between(self.priority, -(2**31), 2**31 - 1, f"{where}: priority")
        _enum(self, "objective", Objective, f"{where}: placement.objective")

    @property
    def key(self) -> str:
        """``namespace/name``: how plans and messages name the job."""
        return f"{self.namespace}/{self.name}"


@dataclass(frozen=True, slots=True, kw_only=True)
class ExistingPlacement:
    """Replicas of a job already running on a node (from ``InferenceJob.status.placements``).

    ``gpus`` and ``power_w`` (totals, power before PUE) describe what is running; when
    absent they follow from the job's spec. A placement of a job the snapshot lacks counts
    only what it states.
    """

    job: str
    node: str
    replicas: int
    gpus: int | None = None
    power_w: float | None = None

    def __post_init__(self) -> None:
        where = f"placement of {self.job} on {self.node}"
        _int_between(self.replicas, 1, 1000, f"{where}: replicas")
        if self.gpus is not None:
            _int_between(self.gpus, 0, 16 * 1000, f"{where}: gpus")
            _check(
                self.gpus % self.replicas == 0,
                f"{where}: gpus",
                f"{self.gpus} GPUs do not split evenly over {self.replicas} replicas",
            )
        if self.power_w is not None:
            _finite_at_least(self.power_w, 0.0, f"{where}: powerW")


@dataclass(frozen=True, slots=True, kw_only=True)
class Snapshot:
    """Sites, nodes, jobs and the placements already running, as the engine sees them.

    Names must be unique per kind. A placement may name a job or node the snapshot lacks:
    that is a deleted job or a vanished node, and the plan evicts or re-places it.
    """

    sites: tuple[SiteState, ...] = ()
    nodes: tuple[NodeState, ...] = ()
    jobs: tuple[JobRequest, ...] = ()
    placements: tuple[ExistingPlacement, ...] = ()

    def __post_init__(self) -> None:
        _unique([s.name for s in self.sites], "site")
        _unique([n.name for n in self.nodes], "GpuNode")
        _unique([j.key for j in self.jobs], "InferenceJob")
        _unique([f"{p.job} on {p.node}" for p in self.placements], "placement of")


def _unique(names: list[str], kind: str) -> None:
    seen: set[str] = set()
    for name in names:
        _check(name not in seen, f"{kind} {name}", "given more than once")
        seen.add(name)
