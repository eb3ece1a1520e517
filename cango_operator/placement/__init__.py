"""The placement engine: a pure function from a fleet snapshot to a plan.

No kopf, no Kubernetes client (import-linter holds it to that). Built like kube-scheduler:
filter plugins rule nodes out with countable reasons, score plugins rank the rest 0..100,
a profile orders them and weighs the scores per objective; everything is vectorised over
a NumPy table of nodes. See ``engine`` for the order of decisions, ``existing`` for what
happens to work already running, and ``state`` for how power is counted.

    from cango_operator.placement import Snapshot, SiteState, NodeState, JobRequest, plan
    result = plan(Snapshot(sites=(...), nodes=(...), jobs=(...)))
    result.to_json()
"""

from cango_operator.placement.engine import PlacementEngine, plan
from cango_operator.placement.framework import (
    MAX_SCORE,
    MIN_SCORE,
    UNLIMITED,
    Code,
    DynamicFilter,
    DynamicFilterKind,
    FilterResult,
    JobShape,
    JobTurn,
    PluginKind,
    Profile,
    Rejection,
    ScorePlugin,
    ShapeArrays,
    Shortfall,
    StaticFilter,
    Status,
)
from cango_operator.placement.improvement import DEFAULT_BUDGET, OFF, ImprovementBudget
from cango_operator.placement.plan import Eviction, Placement, Plan, SiteBudget, Unschedulable
from cango_operator.placement.plugins import DEFAULT_PROFILE, REGISTRY, build_profile
from cango_operator.placement.powercap import plan_with_power_caps
from cango_operator.placement.shedding import RunningReplicas, Shed, shed_key, shed_order
from cango_operator.placement.snapshot import (
    ExistingPlacement,
    JobRequest,
    NodePhase,
    NodeState,
    Objective,
    SitePhase,
    SiteState,
    Snapshot,
    SnapshotError,
)
from cango_operator.placement.state import need_w

__all__ = [
    "DEFAULT_BUDGET",
    "DEFAULT_PROFILE",
    "MAX_SCORE",
    "MIN_SCORE",
    "OFF",
    "REGISTRY",
    "UNLIMITED",
    "Code",
    "DynamicFilter",
    "DynamicFilterKind",
    "Eviction",
    "ExistingPlacement",
    "FilterResult",
    "ImprovementBudget",
    "JobRequest",
    "JobShape",
    "JobTurn",
    "NodePhase",
    "NodeState",
    "Objective",
    "Placement",
    "PlacementEngine",
    "Plan",
    "PluginKind",
    "Profile",
    "Rejection",
    "RunningReplicas",
    "ScorePlugin",
    "ShapeArrays",
    "Shed",
    "Shortfall",
    "SiteBudget",
    "SitePhase",
    "SiteState",
    "Snapshot",
    "SnapshotError",
    "StaticFilter",
    "Status",
    "Unschedulable",
    "build_profile",
    "need_w",
    "plan",
    "plan_with_power_caps",
    "shed_key",
    "shed_order",
]
