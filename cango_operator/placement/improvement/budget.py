"""How much the improvement stage may spend on one plan.

The exact stage runs only when the problem is small enough to solve quickly (``max_pairs``
(job, node) pairs that could take a replica); its solver stops after a number of branch and bound
nodes per solve, which keeps the result deterministic, and falls back to the
greedy plan if ``time_limit_s`` (a safety net sized never to be reached on the instances
it is meant for) runs out.
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
    time_limit_s: float = 5.0

    @property
    def enabled(self) -> bool:
        return self.max_pairs > 0


DEFAULT_BUDGET = ImprovementBudget()
OFF = ImprovementBudget(max_pairs=0)
