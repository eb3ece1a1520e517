"""Live site power: the power package's feed runner, wired to the cluster.

Sites with a live feed (http, prometheus, modbus) are polled by a :class:`PowerRunner`
whose sink writes ``status.phase``, ``status.power`` and the feed conditions. Sites
without one (``static`` or no feed) have no live data: their phase is whatever a person
or system sets in the status (absent means Ready), and the planning round writes their
power figures itself.

The runner polls only while this operator is the active one. A standby instance holds
no feeds; a freshly active one starts them. What the runner needs from the operator is
injected: the GPU load of each site (from the last round) and the Secret reader.
"""

from __future__ import annotations

import asyncio
import base64
import logging
from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from kubernetes import client

from cango_operator.api import Condition, FeedType, Site, SitePhase
from cango_operator.builders import fingerprint, with_round_conditions
from cango_operator.errors import ConfigError
from cango_operator.operator.kube import KubeWriter
from cango_operator.operator.metrics import REGISTRY
from cango_operator.power import (
    FeedSample,
    FeedState,
    GpuLoad,
    PowerMetrics,
    PowerRunner,
    SitePowerSpec,
    SitePowerState,
    compute_site_power,
    site_power_spec_of,
)

logger = logging.getLogger(__name__)


def has_live_feed(site: Site) -> bool:
    feed = site.spec.power.feed
    return feed is not None and feed.type != FeedType.STATIC


class SitePowerFeeds:
    """The feed runner for this cluster's Sites, started and stopped with leadership."""

    def __init__(
        self, writer: KubeWriter, api: client.ApiClient, secret_namespace: str | None
    ) -> None:
        self._writer = writer
        self._core = client.CoreV1Api(api)
        self._secret_namespace = secret_namespace
        self._loads: dict[str, GpuLoad] = {}
        self._round_conditions: dict[str, Sequence[Mapping[str, Any]]] = {}
        self._specs: dict[str, SitePowerSpec] = {}
        self._written: dict[str, str] = {}
        self._metrics = _power_metrics()
        self._runner: PowerRunner | None = None
        self._static: set[str] = set()

    @property
    def active(self) -> bool:
        return self._runner is not None

    def load(self, site: str) -> GpuLoad:
        return self._loads.get(site, GpuLoad())

    async def activate(self) -> None:
        if self._runner is None:
            self._runner = PowerRunner(
                self._sink, secrets=self._secret, gpu_load=self.load, metrics=self._metrics
            )
            self._specs.clear()
            await self._runner.start()
            logger.info("power feeds started")

    async def deactivate(self) -> None:
        runner, self._runner = self._runner, None
        for name in self._static:
            self._metrics.forget(name)
        self._static.clear()
        if runner is not None:
            await runner.stop()
            logger.info("power feeds stopped")

    async def sync(
        self,
        sites: Mapping[str, Site],
        loads: Mapping[str, GpuLoad],
        round_conditions: Mapping[str, Sequence[Mapping[str, Any]]] | None = None,
    ) -> None:
        """Follow the Sites (new, changed, gone), the GPU load the last plan gives them
        and the conditions the round keeps on them (written along with the feed's own,
        so that a feed write does not erase them)."""
        changed_load = {n for n, load in loads.items() if self._loads.get(n) != load}
        self._loads = dict(loads)
        self._round_conditions = dict(round_conditions or {})
        runner = self._runner
        if runner is None:
            return
        self._observe_static(sites)
        live = {name: site for name, site in sites.items() if has_live_feed(site)}
        for name in [n for n in self._specs if n not in live]:
            await runner.remove_site(name)
            del self._specs[name]
        for name, site in live.items():
            try:
                spec = site_power_spec_of(site.spec)
            except ConfigError as exc:
                logger.warning("site %s: power spec not usable: %s", name, exc)
                continue
            if self._specs.get(name) != spec:
                self._specs[name] = spec
                await runner.set_site(name, spec, _stored_conditions(site))
            elif name in changed_load:
                await runner.refresh(name)

    def _observe_static(self, sites: Mapping[str, Site]) -> None:
        """Sites without a live feed get the same power metrics as the others, from their
        spec (the ``static`` feed) and their GPU load, with the phase their status holds."""
        now = datetime.now(UTC)
        static = {name: site for name, site in sites.items() if not has_live_feed(site)}
        for name in self._static - set(static):
            self._metrics.forget(name)
        self._static = set(static)
        for name, site in static.items():
            try:
                spec = site_power_spec_of(site.spec)
            except ConfigError:
                continue  # logged where the round reads it
            feed = FeedState("static feed (spec values)", last_good=FeedSample(timestamp=now))
            state = compute_site_power(spec, feed, self.load(name), now)
            phase = site.status.phase if site.status is not None else None
            state = replace(state, phase=phase or SitePhase.READY)
            self._metrics.observe_state(name, FeedType.STATIC.value, state, _utc_now)

    async def _sink(self, name: str, state: SitePowerState) -> None:
        if self._runner is None:
            return  # stopped meanwhile: another instance is in charge
        body = state.status()
        body["conditions"] = with_round_conditions(
            body["conditions"], self._round_conditions.get(name, ())
        )
        digest = fingerprint(body)
        if self._written.get(name) == digest:
            return
        await self._writer.call(
            "Site", "status", lambda: self._writer.patch_cluster_status("sites", name, body)
        )
        self._written[name] = digest

    async def _secret(self, name: str, namespace: str | None) -> Mapping[str, str]:
        where = namespace or self._secret_namespace
        if where is None:
            raise ConfigError(f"Secret {name}: no namespace given and POD_NAMESPACE is not set")
        secret: Any = await asyncio.to_thread(self._core.read_namespaced_secret, name, where)
        return {k: base64.b64decode(v).decode() for k, v in (secret.data or {}).items()}


def _utc_now() -> datetime:
    return datetime.now(UTC)


_METRICS: list[PowerMetrics] = []


def _power_metrics() -> PowerMetrics:
    """One set of site power metrics per process, on the operator's registry."""
    if not _METRICS:
        _METRICS.append(PowerMetrics(REGISTRY))
    return _METRICS[0]


def _stored_conditions(site: Site) -> list[Condition]:
    return list(site.status.conditions) if site.status is not None else []
