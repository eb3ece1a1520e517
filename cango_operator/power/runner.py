"""The feed runner: polls every site's feed on its own schedule and publishes its state.

Each site has its own asyncio task, so a slow or hanging feed delays nobody else: every
attempt is bounded by the feed's ``timeoutSeconds``, retried with backoff, then the
site's state is recomputed and handed to the :class:`StatusSink` the caller injected
(the operator's sink writes ``Site.status``; tests may collect states in a list).
Nothing a feed, the sink or the GPU-load callback does can stop the loop: failures
become an ``Unknown`` site with a condition, or a logged error, and the next poll runs.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from types import TracebackType

import aiohttp

from cango_operator.api import Condition
from cango_operator.power.feeds.base import (
    FeedErrorKind,
    FeedProblem,
    FeedReader,
    FeedReadError,
    SecretResolver,
)
from cango_operator.power.feeds.factory import build_feed
from cango_operator.power.metrics import PowerMetrics
from cango_operator.power.model import FeedState, GpuLoad, SitePowerState, compute_site_power
from cango_operator.power.retry import read_with_retries
from cango_operator.power.sanity import SanityLimits, check_sample
from cango_operator.power.spec import SitePowerSpec

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]
StatusSink = Callable[[str, SitePowerState], Awaitable[None]]
"""Receives ``(site name, new state)`` after every poll; writes it wherever it belongs."""
GpuLoadProvider = Callable[[str], GpuLoad]
"""The IT power of a site's GPU nodes and of its placed replicas, asked at every poll."""


def utc_now() -> datetime:
    return datetime.now(UTC)


def no_gpu_load(_site: str) -> GpuLoad:
    return GpuLoad()


class PowerRunner:
    """Runs one polling task per site; use as ``async with PowerRunner(sink) as runner``."""

    def __init__(
        self,
        sink: StatusSink,
        *,
        secrets: SecretResolver | None = None,
        gpu_load: GpuLoadProvider = no_gpu_load,
        metrics: PowerMetrics | None = None,
        clock: Clock = utc_now,
        rng: random.Random | None = None,
        jitter: float = 0.1,
    ) -> None:
        if not 0 <= jitter < 1:
            raise ValueError(f"jitter must be in [0, 1), got {jitter}")
        self._sink = sink
        self._secrets = secrets
        self._gpu_load = gpu_load
        self._metrics = metrics
        self._clock = clock
        self._rng = rng or random.Random()
        self._jitter = jitter
        self._session: aiohttp.ClientSession | None = None
        self._sites: dict[str, _SiteWorker] = {}

    async def __aenter__(self) -> PowerRunner:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.stop()

    @property
    def running(self) -> bool:
        return self._session is not None

    async def start(self) -> None:
        if self._session is None:
            # No pool-wide connection cap: a hundred hanging meters must not make the
            # other sites queue for a connection (each read has its own timeout).
            self._session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0))
            for worker in self._sites.values():
                worker.start()

    async def stop(self) -> None:
        """Cancel every site's task and wait for them; states stay readable."""
        await asyncio.gather(*(worker.stop() for worker in self._sites.values()))
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def set_site(
        self, name: str, spec: SitePowerSpec, conditions: Sequence[Condition] = ()
    ) -> None:
        """Add a site or update its spec. A changed feed restarts its polling; any other
        change is published at once. ``conditions`` (from the stored status) keep their
        transition times."""
        worker = self._sites.get(name)
        if worker is not None and worker.spec.feed == spec.feed:
            worker.spec = spec
            if worker.feed_state.last_good is not None or worker.feed_state.problem:
                await worker.publish()
            return
        previous = worker.conditions if worker is not None else tuple(conditions)
        if worker is not None:
            await worker.stop()
        worker = _SiteWorker(self, name, spec, previous)
        self._sites[name] = worker
        if self.running:
            worker.start()

    async def remove_site(self, name: str) -> None:
        worker = self._sites.pop(name, None)
        if worker is not None:
            await worker.stop()
        if self._metrics is not None:
            self._metrics.forget(name)

    async def poll_now(self, name: str) -> SitePowerState:
        """Poll the site's feed once, right now, and publish (besides its schedule)."""
        return await self._worker(name).poll_once()

    async def refresh(self, name: str) -> SitePowerState:
        """Recompute and publish from the last sample, e.g. when GPU load changed."""
        return await self._worker(name).publish()

    def state(self, name: str) -> SitePowerState | None:
        worker = self._sites.get(name)
        return worker.state if worker is not None else None

    def site_names(self) -> list[str]:
        return sorted(self._sites)

    def _worker(self, name: str) -> _SiteWorker:
        try:
            return self._sites[name]
        except KeyError:
            raise KeyError(f"no site {name!r} in the power runner") from None

    def _build_feed(self, spec: SitePowerSpec) -> FeedReader:
        assert self._session is not None, "the runner is not started"
        return build_feed(
            spec.feed, session=self._session, clock=self._clock, secrets=self._secrets
        )


class _SiteWorker:
    """One site: its feed, what is known of it, and the task polling it."""

    def __init__(
        self,
        runner: PowerRunner,
        name: str,
        spec: SitePowerSpec,
        conditions: Sequence[Condition],
    ) -> None:
        self.runner = runner
        self.name = name
        self.spec = spec
        self.feed: FeedReader | None = None
        self.feed_state = FeedState(
            description=f"{spec.feed.type.value} feed", provides_price=spec.feed.provides_price
        )
        self.state: SitePowerState | None = None
        self.conditions: tuple[Condition, ...] = tuple(conditions)
        self.gpu_load = GpuLoad()
        self.task: asyncio.Task[None] | None = None
        self.lock = asyncio.Lock()
        self.poll_lock = asyncio.Lock()  # a poll_now never overlaps the scheduled poll
        self.logged_kind: FeedErrorKind | None = None

    def start(self) -> None:
        self.feed = self.runner._build_feed(self.spec)
        self.feed_state = replace(self.feed_state, description=self.feed.description)
        self.task = asyncio.create_task(self.run(), name=f"power-feed:{self.name}")

    async def stop(self) -> None:
        task, self.task = self.task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def run(self) -> None:
        timing = self.spec.feed.timing
        while True:
            await self.poll_once()
            spread = self.runner._rng.uniform(1 - self.runner._jitter, 1 + self.runner._jitter)
            await asyncio.sleep(timing.interval_seconds * spread)

    async def poll_once(self) -> SitePowerState:
        async with self.poll_lock:
            return await self._poll()

    async def _poll(self) -> SitePowerState:
        feed = self.feed
        if feed is None:
            raise RuntimeError(f"site {self.name!r}: the power runner is not started")
        runner = self.runner
        timing = self.spec.feed.timing
        loop = asyncio.get_running_loop()
        started = loop.time()
        error: FeedErrorKind | None = None
        try:
            sample = await read_with_retries(feed, timing, rng=runner._rng)
            limits = SanityLimits(self.spec.capacity_kw, timing.stale_after_seconds)
            sample = check_sample(sample, limits, runner._clock(), feed.description)
            self.feed_state = replace(self.feed_state, last_good=sample, problem=None)
        except FeedReadError as fault:
            error = fault.kind
            self.feed_state = replace(self.feed_state, problem=fault.problem)
        except Exception as exc:
            log.exception("site %s: %s failed unexpectedly", self.name, feed.description)
            error = FeedErrorKind.INTERNAL
            problem = FeedProblem(
                error, f"{feed.description}: adapter failed unexpectedly ({type(exc).__name__})"
            )
            self.feed_state = replace(self.feed_state, problem=problem)
        self._log_transition(error)
        if runner._metrics is not None:
            runner._metrics.observe_poll(
                self.name, self.spec.feed.type.value, loop.time() - started, error
            )
        return await self.publish()

    async def publish(self) -> SitePowerState:
        runner = self.runner
        async with self.lock:
            try:
                self.gpu_load = runner._gpu_load(self.name)
            except Exception:
                log.exception("site %s: GPU load unavailable, keeping the last known", self.name)
            state = compute_site_power(
                self.spec, self.feed_state, self.gpu_load, runner._clock(), self.conditions
            )
            self.state, self.conditions = state, state.conditions
            if runner._metrics is not None:
                runner._metrics.observe_state(
                    self.name, self.spec.feed.type.value, state, runner._clock
                )
            try:
                await runner._sink(self.name, state)
            except Exception:
                log.exception("site %s: writing the power status failed", self.name)
            return state

    def _log_transition(self, error: FeedErrorKind | None) -> None:
        """Log when a feed breaks, changes how it fails, or recovers; not every poll."""
        if error == self.logged_kind:
            return
        if error is None:
            log.info("site %s: %s recovered", self.name, self.feed_state.description)
        elif self.feed_state.problem is not None:
            log.warning("site %s: %s", self.name, self.feed_state.problem.message)
        self.logged_kind = error
