"""The improvement stage after the greedy: an exact search for a better plan when the
problem is small enough, with the greedy's plan as the start and the fallback.

See ``stage`` for what "better" means, ``problem`` for what may change (new replicas
anywhere; running ones only up to their job's ``maxMovesPerRound``) and ``solver`` for
the order of the search and what keeps it deterministic.
"""

from cango_operator.placement.improvement.budget import DEFAULT_BUDGET, OFF, ImprovementBudget
from cango_operator.placement.improvement.stage import MOVED, improve

__all__ = ["DEFAULT_BUDGET", "MOVED", "OFF", "ImprovementBudget", "improve"]
