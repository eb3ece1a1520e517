"""The plugin framework, shaped like kube-scheduler's: filters say no with a reason, scores
rank what is left on a fixed 0..100 scale, and a profile says which run and how much each
score weighs per objective.

Every plugin works on a whole vector of node indices at once and returns arrays aligned
with it. Two kinds of filter exist because of what they may read:

- a **static filter** sees only the job's :class:`JobShape` and the fleet; its answer never
  changes during a plan, so the engine computes it once per distinct value of the part
  of the shape the filter says it ``reads``;
- a **dynamic filter** also sees the :class:`~cango_operator.placement.state.PlanState`
  (free GPUs, power left, replicas already placed) and runs every time. It is also the one
  place its rule lives for the rest of the engine: :meth:`DynamicFilter.capacity` says how
  many replicas the rule lets onto a node (the greedy's fill asks it), and
  :meth:`DynamicFilter.shortfall` what preemption would have to free for the rule to pass.
  Nodes no preemption can open it marks ``unresolvable`` in its result (kube-scheduler's
  UnschedulableAndUnresolvable); preemption does not look at them. A rule left out of the
  profile is thus gone from the filter, the fill and preemption alike.

"Does not fit" is a :class:`Status` with a reason, never an exception. The reasons are
short and countable, because ``status.message`` counts nodes by reason.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import IntEnum, StrEnum
from typing import ClassVar, Protocol

import numpy as np

from cango_operator.placement.snapshot import JobRequest, Objective
from cango_operator.placement.state import PlanState, Unit
from cango_operator.placement.table import BoolArray, FleetTable, FloatArray, IntArray

#: Every score plugin returns integers in this closed range.
MIN_SCORE = 0
MAX_SCORE = 100


class Code(IntEnum):
    SUCCESS = 0
    UNSCHEDULABLE = 1
    ERROR = 2
    SKIP = 3


@dataclass(frozen=True, slots=True)
class Status:
    """A plugin's verdict on a job as a whole; per-node detail is in the rejections."""

    code: Code = Code.SUCCESS
    reason: str = ""


@dataclass(frozen=True, slots=True)
class Rejection:
    """Nodes ruled out (``mask`` True, aligned with the nodes asked about) for one reason."""

    mask: BoolArray
    reason: str


@dataclass(frozen=True, slots=True)
class FilterResult:
    """What a filter says about a vector of nodes.

    ``unresolvable`` (aligned with the nodes, None: none) marks rejected nodes that no
    preemption can open: evicting lower-priority replicas would not make them pass.
    """

    status: Status = field(default_factory=Status)
    rejections: tuple[Rejection, ...] = ()
    unresolvable: BoolArray | None = None

    @classmethod
    def skip(cls) -> FilterResult:
        """The rule does not apply to this job (e.g. no allowed regions given)."""
        return cls(Status(Code.SKIP))

    @classmethod
    def error(cls, reason: str) -> FilterResult:
        """The plugin could not judge; the engine rules out every node with this reason."""
        return cls(Status(Code.ERROR, reason))

    @classmethod
    def reject(
        cls, *pairs: tuple[BoolArray, str], unresolvable: BoolArray | None = None
    ) -> FilterResult:
        """Rule out nodes per (mask, reason); reasons with an empty mask are dropped.
        ``unresolvable``: those of them that no preemption can open."""
        rejections = tuple(Rejection(m, r) for m, r in pairs if bool(m.any()))
        if not rejections:
            return cls()
        if unresolvable is not None and not unresolvable.any():
            unresolvable = None
        return cls(Status(Code.UNSCHEDULABLE, rejections[0].reason), rejections, unresolvable)

    def rejected(self, size: int) -> BoolArray:
        """One mask: True where any rejection (or an error) rules the node out."""
        if self.status.code == Code.ERROR:
            return np.ones(size, dtype=np.bool_)
        out = np.zeros(size, dtype=np.bool_)
        for r in self.rejections:
            out |= r.mask
        return out

    def unresolvable_mask(self, size: int) -> BoolArray:
        """True where no preemption can make the node pass (an error: everywhere)."""
        if self.status.code == Code.ERROR:
            return np.ones(size, dtype=np.bool_)
        if self.unresolvable is None:
            return np.zeros(size, dtype=np.bool_)
        return self.unresolvable.copy()


@dataclass(frozen=True, slots=True)
class Shortfall:
    """What preemption would have to free for one more replica to pass a rule, per node
    asked about: GPUs on the node, whole watts at its site (zeros: nothing to free)."""

    gpus: IntArray
    watts: IntArray

    @classmethod
    def none(cls, size: int) -> Shortfall:
        zeros = np.zeros(size, dtype=np.int64)
        return cls(zeros, zeros)


@dataclass(frozen=True, slots=True)
class JobShape:
    """The part of a job that static filters may read; jobs with equal shapes share results."""

    gpu_count: int
    gpu_models: tuple[str, ...]
    min_memory_mib: int
    estimated_power_w: float | None
    client_region: str | None
    max_latency_ms: float | None
    allowed_regions: tuple[str, ...]
    value_usd_per_gpu_hour: float | None = None

    @classmethod
    def of(cls, job: JobRequest) -> JobShape:
        return cls(
            gpu_count=job.gpu_count,
            gpu_models=tuple(sorted(job.gpu_models)),
            min_memory_mib=job.min_memory_mib,
            estimated_power_w=job.estimated_power_w,
            client_region=job.client_region,
            max_latency_ms=job.max_latency_ms,
            allowed_regions=tuple(sorted(job.allowed_regions)),
            value_usd_per_gpu_hour=job.value_usd_per_gpu_hour,
        )


@dataclass(frozen=True, slots=True)
class ShapeArrays:
    """Per-node values that follow from a job shape, over all nodes of the fleet."""

    shape: JobShape
    #: estimated draw of one replica on each node, before PUE (W)
    power_w: FloatArray
    #: what one replica takes from the node's site budget, after PUE (whole W)
    need_w: IntArray
    #: latency from each node's site to the client region (ms; NaN = unknown or no region)
    latency_ms: FloatArray
    #: whether a replica on each node may take the mining its site may shed: it earns
    #: more per kWh than that mining (api/revenue.py)
    may_shed: BoolArray

    def unit(self, node: int) -> Unit:
        """What one replica takes on ``node``."""
        return Unit(
            gpus=self.shape.gpu_count,
            power_w=float(self.power_w[node]),
            need_w=int(self.need_w[node]),
            restricted=not bool(self.may_shed[node]),
        )


@dataclass(slots=True)
class JobTurn:
    """One job while the engine places it: the request, its shape arrays, its spread so far."""

    job: JobRequest
    arrays: ShapeArrays
    #: replicas of this job per site row (kept and new), kept current by the engine
    site_counts: IntArray


class PluginKind(StrEnum):
    """What a plugin is, declared by the plugin itself (``kind``), so that a profile can
    tell a filter that reads the plan state from one that does not without guessing from
    its methods."""

    STATIC_FILTER = "static filter"
    DYNAMIC_FILTER = "dynamic filter"
    SCORE = "score plugin"


class Plugin(Protocol):
    """What every plugin declares: its name in profiles and its kind."""

    name: ClassVar[str]
    kind: ClassVar[PluginKind]


class StaticFilterKind:
    """Base of a static filter: declares its kind."""

    kind: ClassVar[PluginKind] = PluginKind.STATIC_FILTER


#: A rule's capacity where it sets no limit of its own.
UNLIMITED = 2**62


class DynamicFilterKind:
    """Base of a dynamic filter: declares its kind, and the hooks for a rule that passes or
    fails a node as a whole (a rule that counts replicas, or that preemption can satisfy,
    overrides them)."""

    kind: ClassVar[PluginKind] = PluginKind.DYNAMIC_FILTER

    def filter(
        self, job: JobTurn, fleet: FleetTable, state: PlanState, nodes: IntArray
    ) -> FilterResult:
        raise NotImplementedError

    def capacity(self, job: JobTurn, fleet: FleetTable, state: PlanState, node: int) -> int:
        """Any number of replicas where the node passes, none where it does not."""
        at = np.array([node], dtype=np.int64)
        return 0 if self.filter(job, fleet, state, at).rejected(1)[0] else UNLIMITED

    def shortfall(
        self, job: JobTurn, fleet: FleetTable, state: PlanState, nodes: IntArray
    ) -> Shortfall:
        """Nothing preemption frees makes such a rule pass."""
        return Shortfall.none(nodes.size)


class ScoreKind:
    """Base of a score plugin: declares its kind."""

    kind: ClassVar[PluginKind] = PluginKind.SCORE


class StaticFilter(Plugin, Protocol):
    """A rule that depends only on the job's shape and the fleet."""

    #: True: running replicas that break this rule are moved (a job spec changed under them)
    evicts_running: ClassVar[bool]

    def reads(self, shape: JobShape) -> Hashable:
        """The part of the shape the rule looks at: results are reused for equal values."""
        ...

    def filter(self, job: ShapeArrays, fleet: FleetTable, nodes: IntArray) -> FilterResult: ...


class DynamicFilter(Plugin, Protocol):
    """A rule that also depends on what the plan has used so far."""

    def filter(
        self, job: JobTurn, fleet: FleetTable, state: PlanState, nodes: IntArray
    ) -> FilterResult: ...

    def capacity(self, job: JobTurn, fleet: FleetTable, state: PlanState, node: int) -> int:
        """How many more replicas of the job the rule lets onto ``node`` now
        (:data:`UNLIMITED`: the rule sets no limit there)."""
        ...

    def shortfall(
        self, job: JobTurn, fleet: FleetTable, state: PlanState, nodes: IntArray
    ) -> Shortfall:
        """What evicting running replicas would have to free for one more replica to pass
        the rule on each node (zeros where it passes or where freeing cannot help)."""
        ...


class ScorePlugin(Plugin, Protocol):
    """Ranks nodes that passed every filter: integers 0..100, higher is better."""

    def score(
        self, job: JobTurn, fleet: FleetTable, state: PlanState, nodes: IntArray
    ) -> IntArray: ...


@dataclass(frozen=True, slots=True)
class Profile:
    """Which plugins run, in which order (the order reasons are counted in), and the weight
    of each score per objective (integers, so sums are exact)."""

    static_filters: tuple[StaticFilter, ...]
    dynamic_filters: tuple[DynamicFilter, ...]
    scores: tuple[ScorePlugin, ...]
    weights: Mapping[Objective, Mapping[str, int]]

    def weight(self, objective: Objective, plugin: str) -> int:
        return self.weights.get(objective, {}).get(plugin, 0)


def min_max_score(values: FloatArray | IntArray, higher_is_better: bool) -> IntArray:
    """Spread values linearly onto 0..100 across the nodes being ranked (all equal: 100)."""
    if values.size == 0:
        return np.zeros(0, dtype=np.int64)
    lo, hi = values.min(), values.max()
    if lo == hi:
        return np.full(values.size, MAX_SCORE, dtype=np.int64)
    scaled = np.subtract(values, lo) if higher_is_better else np.subtract(hi, values)
    scaled = np.multiply(scaled, 100.0)
    scaled /= hi - lo
    scores: IntArray = np.floor(scaled, out=scaled).astype(np.int64)
    return scores


def reason_list(items: Sequence[str]) -> str:
    """``a``, ``a or b``, ``a, b or c``: how reasons name alternatives."""
    if len(items) <= 1:
        return "".join(items)
    return f"{', '.join(items[:-1])} or {items[-1]}"
