"""The kopf handlers: each one only tells the planner that something changed.

All decisions are made by the planner's rounds from the indexes (see :mod:`round`);
a handler never plans, writes or blocks. Handler functions receive kopf's keyword
arguments; ``memo`` carries the operator's :class:`Runtime`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass, field
from typing import Any

import kopf

from cango_operator.operator.indexes import DEPLOYMENTS, GPUNODES, JOBS, NODES, SERVICES, SITES
from cango_operator.operator.options import OperatorOptions
from cango_operator.operator.planner import Planner
from cango_operator.operator.round import Reconciler
from cango_operator.operator.settings import configure

logger = logging.getLogger(__name__)

INDEX_NAMES = (JOBS, SITES, GPUNODES, NODES, DEPLOYMENTS, SERVICES)


@dataclass
class Runtime:
    """What the handlers share, passed to kopf as ``memo``."""

    options: OperatorOptions
    planner: Planner
    reconciler: Reconciler
    started: asyncio.Event = field(default_factory=asyncio.Event)
    ticker: asyncio.Task[None] | None = None


def runtime(memo: Any) -> Runtime:
    rt = memo.runtime
    assert isinstance(rt, Runtime)
    return rt


async def on_startup(settings: kopf.OperatorSettings, memo: Any, **kwargs: Any) -> None:
    rt = runtime(memo)
    configure(settings, rt.options)
    rt.reconciler.indexes = {name: kwargs[name] for name in INDEX_NAMES if name in kwargs}
    if rt.options.standalone:
        # No peers, so nothing can pause this operator: it may keep its own clock.
        rt.ticker = asyncio.create_task(_tick_forever(rt), name="cango heartbeat ticker")
    rt.started.set()


async def on_cleanup(memo: Any, **_: Any) -> None:
    rt = runtime(memo)
    if rt.ticker is not None:
        rt.ticker.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await rt.ticker
    await rt.planner.stop()


async def on_change(memo: Any, resource: kopf.Resource, type: str | None, **_: Any) -> None:
    """Any watched object changed (or was listed at startup): plan soon."""
    runtime(memo).planner.request(f"{resource.plural} {type or 'listed'}")


async def on_peering(memo: Any, **_: Any) -> None:
    """A peering keep-alive: kopf only delivers these while this operator is the active
    one, so they double as its clock for time-based checks (stale node heartbeats)."""
    _tick(runtime(memo))


async def on_probe(memo: Any, **_: Any) -> dict[str, Any]:
    """Liveness: the planner's state; fails when a round has hung."""
    stats = runtime(memo).planner.stats
    if runtime(memo).planner.stuck_for() > 600:
        raise kopf.PermanentError("a planning round has been running for over 10 minutes")
    return {
        "rounds": stats.rounds,
        "failures": stats.failures,
        "lastRoundSeconds": round(stats.last_round_seconds, 3),
        "lastError": stats.last_error,
    }


def _tick(rt: Runtime) -> None:
    if rt.reconciler.time_based_change():
        rt.planner.request("heartbeat check")


async def _tick_forever(rt: Runtime) -> None:
    interval = max(1.0, min(rt.options.node_stale_seconds / 2, 15.0))
    while True:
        await asyncio.sleep(interval)
        _tick(rt)
