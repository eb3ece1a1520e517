"""The kopf handlers: each one only tells the planner that something changed.

All decisions are made by the planner's rounds from the indexes (see :mod:`round`);
a handler never plans, writes or blocks. Handler functions receive kopf's keyword
arguments; ``memo`` carries the operator's :class:`Runtime`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from dataclasses import dataclass, field
from typing import Any

import kopf

from cango_operator.operator import metrics, round_metrics
from cango_operator.operator.indexes import INDEX_NAMES
from cango_operator.operator.options import OperatorOptions
from cango_operator.operator.planner import Planner
from cango_operator.operator.relevance import ChangeFilter
from cango_operator.operator.round import Reconciler
from cango_operator.operator.settings import configure
from cango_operator.operator.sitepower import SitePowerFeeds

logger = logging.getLogger(__name__)


@dataclass
class Runtime:
    """What the handlers share, passed to kopf as ``memo``.

    Whether this instance is the active one: standalone, it always is; with peering,
    kopf delivers peering keep-alives (like every other watch event) only while it is not
    paused, so a keep-alive seen within the peering lifetime means active. Only the
    active instance polls power feeds and runs time-based checks; a paused one stops
    within one lifetime.
    """

    options: OperatorOptions
    planner: Planner
    reconciler: Reconciler
    feeds: SitePowerFeeds | None = None
    changes: ChangeFilter = field(default_factory=ChangeFilter)
    clock: asyncio.Task[None] | None = None
    last_keepalive: float | None = None
    #: Set by the first handler call: kopf calls none before every watched kind has its
    #: initial listing, so from then on the operator is watching the whole fleet (and
    #: ``/readyz`` says so); until then the indexes hold part of the fleet at most.
    watching: asyncio.Event = field(default_factory=asyncio.Event)
    #: Set by kopf's startup handler.
    started: asyncio.Event = field(default_factory=asyncio.Event)

    @property
    def indexed(self) -> bool:
        return self.watching.is_set()

    def ready(self) -> bool:
        """``/readyz``: watching the whole fleet, or a standby of a peered pair. kopf
        pauses a standby (no handler calls, so it never shows it is watching) until it
        takes over and lists the fleet; it is ready for exactly that."""
        return self.watching.is_set() or (self.started.is_set() and not self.is_active())

    def mark_indexed(self) -> None:
        """The first handler call: the indexes are complete from now on. Plans the rounds
        the clock held back until then."""
        if not self.indexed:
            self.watching.set()
            self.planner.request("indexes complete")

    def is_active(self) -> bool:
        if self.options.standalone:
            return True
        if self.last_keepalive is None:
            return False
        return time.monotonic() - self.last_keepalive <= self.options.peering_lifetime + 1


def runtime(memo: Any) -> Runtime:
    rt = memo.runtime
    assert isinstance(rt, Runtime)
    return rt


async def on_startup(settings: kopf.OperatorSettings, memo: Any, **kwargs: Any) -> None:
    rt = runtime(memo)
    configure(settings, rt.options)
    rt.reconciler.indexes = {name: kwargs[name] for name in INDEX_NAMES if name in kwargs}
    rt.clock = asyncio.create_task(_clock(rt), name="cango clock")
    rt.started.set()


async def on_cleanup(memo: Any, **_: Any) -> None:
    rt = runtime(memo)
    if rt.clock is not None:
        rt.clock.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await rt.clock
    if rt.feeds is not None:
        await rt.feeds.deactivate()
    await rt.planner.stop()


async def on_change(
    memo: Any, resource: kopf.Resource, body: kopf.Body, type: str | None, **_: Any
) -> None:
    """A watched object changed (or was listed at startup): plan soon, when the change
    is one a round reads (see :mod:`relevance`), or when a GpuNode the last round found
    stale reports again (its heartbeat is back: no need to wait for the clock)."""
    rt = runtime(memo)
    rt.mark_indexed()
    plural = resource.plural
    wanted = rt.changes.wants_round(plural, body, type)
    if not wanted and plural == "gpunodes":
        wanted = body.get("metadata", {}).get("name") in rt.reconciler.stale_nodes
    metrics.WATCH_EVENTS.labels(plural, "plan" if wanted else "skip").inc()
    if wanted:
        rt.planner.request(f"{plural} {type or 'listed'}")


async def on_peering(memo: Any, **_: Any) -> None:
    """A peering keep-alive: proof that kopf has not paused this instance."""
    rt = runtime(memo)
    rt.mark_indexed()
    rt.last_keepalive = time.monotonic()


async def on_probe(memo: Any, **_: Any) -> dict[str, Any]:
    """Liveness: the planner's state; fails when a round has hung."""
    rt = runtime(memo)
    stats = rt.planner.stats
    if rt.planner.stuck_for() > 600:
        raise kopf.PermanentError("a planning round has been running for over 10 minutes")
    return {
        "active": rt.is_active(),
        "rounds": stats.rounds,
        "failures": stats.failures,
        "lastRoundSeconds": round(stats.last_round_seconds, 3),
        "lastError": stats.last_error,
    }


async def _clock(rt: Runtime) -> None:
    """Once a second: follow leadership (start or stop the power feeds) and, while active,
    check for heartbeats gone stale, the one change no watch event announces."""
    check_every = max(1.0, min(rt.options.node_stale_seconds / 4, 15.0))
    last_check = 0.0
    while True:
        await asyncio.sleep(1.0)
        try:
            active = rt.is_active()
            if rt.feeds is not None and active != rt.feeds.active:
                if active:
                    await rt.feeds.activate()
                    if rt.indexed:  # else the first handler call requests the round
                        rt.planner.request("became active")
                else:
                    await rt.feeds.deactivate()
                    round_metrics.standby()
            now = time.monotonic()
            if active and rt.indexed and now - last_check >= check_every:
                last_check = now
                if rt.reconciler.time_based_change():
                    rt.planner.request("heartbeat check")
            if active and rt.indexed and rt.reconciler.replacement_due():
                rt.planner.request("failover due")
            if active and rt.reconciler.usage_due():
                rt.planner.request("usage due")
        except Exception:
            logger.exception("clock tick failed")
