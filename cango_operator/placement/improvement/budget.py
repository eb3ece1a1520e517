"""How much the improvement stage may spend on one plan.

The exact stage runs only when the problem is small enough to solve quickly (``max_pairs``
(job, node) pairs that could take a replica); its solver stops after a number of branch and bound
nodes per solve, which bounds its work and keeps the result deterministic (the same
problem, the same plan, however loaded the machine). ``time_limit_s`` is only a safety
net (wall clock, so it is set far above what the node limits allow on the instances
the stage is meant for): if it runs out, the greedy plan stands.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class ImprovementBudget:
    """Limits of the improvement stage; ``OFF`` keeps the greedy plan as it is."""

    max_pairs: int = 6000
    #: per solve of the service of one priority
    max_nodes: int = 1000
    #: for the objective's solve (the harder one, and the one that matters less)
    max_objective_nodes: int = 100
    time_limit_s: float = 30.0

    @property
    def enabled(self) -> bool:
        return self.max_pairs > 0


DEFAULT_BUDGET = ImprovementBudget()
OFF = ImprovementBudget(max_pairs=0)
