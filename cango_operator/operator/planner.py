"""One planner per operator: every handler asks for a round, rounds run one at a time.

Per-job planning would let two jobs' plans race for the same GPUs and the same kilowatts.
Instead every event (a job, a node, a site, a Deployment changed) only calls
:meth:`Planner.request`; the planner waits a short debounce so a burst of events becomes
one round, then runs the round function. Requests that arrive during a round schedule
exactly one more round after it. Because only handlers call ``request``, an operator
that kopf has paused (a peer with higher priority is active) never plans.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

logger = logging.getLogger(__name__)

RoundFn = Callable[[frozenset[str]], Awaitable[None]]


@dataclass
class PlannerStats:
    """What the liveness probe and the tests read: how the rounds went."""

    rounds: int = 0
    failures: int = 0
    last_round_seconds: float = 0.0
    last_round_end: float | None = None
    last_error: str | None = None
    #: How long the planner waited before the latest retry (0 before any failure).
    retry_after: float = 0.0
    pending_reasons: set[str] = field(default_factory=set)


class Planner:
    """Debounced, single-flight runner of planning rounds.

    ``debounce``: how long to gather requests before a round. ``retry_after``: when a round
    fails, how soon to try again (the failure may be a conflict that a fresh view fixes);
    doubled after each further failure in a row, up to ``max_retry_after``, so that a
    lasting refusal (a full Service IP range, a quota) is not retried every two seconds.
    A round never starts sooner than ``pace`` times the previous round's duration after
    it ended, so a stream of events cannot keep a slow round running back to back.
    """

    def __init__(
        self,
        round_fn: RoundFn,
        *,
        debounce: float = 0.3,
        retry_after: float = 2.0,
        max_retry_after: float = 60.0,
        pace: float = 1.0,
    ) -> None:
        self._round_fn = round_fn
        self._debounce = debounce
        self._retry_after = retry_after
        self._max_retry_after = max_retry_after
        self._failures_in_row = 0
        self._pace = pace
        self._wakeup = asyncio.Event()
        self._idle = asyncio.Event()
        self._idle.set()
        self._task: asyncio.Task[None] | None = None
        self._round_started: float | None = None
        self.stats = PlannerStats()

    def request(self, reason: str) -> None:
        """Ask for a round soon. Cheap and non-blocking: call it from any handler."""
        self.stats.pending_reasons.add(reason)
        self._idle.clear()
        self._wakeup.set()
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._loop(), name="cango planner")

    def stuck_for(self) -> float:
        """Seconds the round in flight has been running (0 when none is)."""
        if self._round_started is None:
            return 0.0
        return time.monotonic() - self._round_started

    async def wait_idle(self) -> None:
        """Return when no round is running or requested (for tests and shutdown)."""
        await self._idle.wait()

    async def stop(self) -> None:
        """Cancel the loop; a round in flight is cancelled at its next await."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        self._idle.set()

    async def _loop(self) -> None:
        while True:
            await self._wakeup.wait()
            await asyncio.sleep(self._debounce)
            self._wakeup.clear()
            reasons = frozenset(self.stats.pending_reasons)
            self.stats.pending_reasons.clear()
            started = self._round_started = time.monotonic()
            try:
                await self._round_fn(reasons)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                self.stats.failures += 1
                self.stats.last_error = f"{type(exc).__name__}: {exc}"
                delay = min(self._retry_after * 2**self._failures_in_row, self._max_retry_after)
                self._failures_in_row += 1
                self.stats.retry_after = delay
                logger.exception("planning round failed; retrying in %.1fs", delay)
                self.stats.pending_reasons.add("retry after failure")
                self._wakeup.set()
                await asyncio.sleep(delay)
            else:
                self.stats.last_error = None
                self._failures_in_row = 0
            finally:
                self._round_started = None
                elapsed = time.monotonic() - started
                self.stats.rounds += 1
                self.stats.last_round_seconds = elapsed
                self.stats.last_round_end = time.time()
            if not self._wakeup.is_set():
                self._idle.set()
                continue
            await asyncio.sleep(min(self._pace * elapsed, 5.0))
