"""Is the hub there? Judged from the guard's own probes of it, nothing else.

The guard asks the hub for its Site, with the site's own hub credentials, at every probe
and with a timeout. A dead WAN link does not refuse: requests stall, so only a timeout
tells, and one slow answer is not a cut. The hub counts as away after ``misses`` failed
probes in a row, and as back at the first answer (any answer, a 404 too: the hub spoke).
Until the first verdict it counts as reachable: a guard that has not seen the hub go
away never acts.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

DEFAULT_MISSES = 3


@dataclass
class HubReachability:
    """The verdict from consecutive probes; :meth:`observe` says when it changed."""

    misses: int = DEFAULT_MISSES
    reachable: bool = True
    since: datetime | None = None
    _failed: int = 0

    def __post_init__(self) -> None:
        if self.misses < 1:
            raise ValueError(f"misses must be >= 1, got {self.misses}")

    def observe(self, answered: bool, now: datetime) -> bool:
        """Record one probe; True when the verdict changed with it."""
        self._failed = 0 if answered else self._failed + 1
        reachable = self.reachable
        if answered:
            reachable = True
        elif self._failed >= self.misses:
            reachable = False
        if reachable == self.reachable:
            return False
        self.reachable, self.since = reachable, now
        return True
