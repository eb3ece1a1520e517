"""The operator: thin kopf handlers around one planner.

Handlers only record that something changed; the :class:`Planner` runs one round at a
time: snapshot the indexes, ask the placement engine, record the plan in the jobs'
statuses, apply Deployments and Services, and write the fleet's statuses.
"""

from cango_operator.operator.applier import KubernetesApplier, PlanApplier
from cango_operator.operator.options import OperatorOptions
from cango_operator.operator.planner import Planner
from cango_operator.operator.registry import build_registry
from cango_operator.operator.runner import run as run_operator
from cango_operator.operator.runner import run_async

__all__ = [
    "KubernetesApplier",
    "OperatorOptions",
    "PlanApplier",
    "Planner",
    "build_registry",
    "run_async",
    "run_operator",
]
