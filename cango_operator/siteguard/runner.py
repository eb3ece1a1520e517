"""The guard's loop: probe the hub, poll the site's feeds, act only while the hub is away.

Two things run side by side. Every probe interval the guard asks the hub for its Sites
(:mod:`hub`): an answer refreshes the power specs it keeps (and their copy in its
ConfigMap), a run of silences makes the hub away. The power package's feed runner polls
each Site's own feed on the feed's schedule, with the power model the operator uses; after
every sample the guard lists the site's Deployments and asks :func:`decide.decide` what
to do. So a budget that falls short while the hub is away is acted on at the next sample,
within one feed interval (plus the scale-down calls). When the hub answers again the
guard reports what it stopped (:mod:`report`) and goes back to watching.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from cango_operator.api import SITE_GUARD_REPORT_ANNOTATION, ShedEntry
from cango_operator.errors import ConfigError
from cango_operator.power import (
    Clock,
    GpuLoad,
    PowerRunner,
    SitePowerSpec,
    SitePowerState,
    parse_site_power_spec,
    utc_now,
)
from cango_operator.siteguard.decide import Decision, decide
from cango_operator.siteguard.hub import DEFAULT_MISSES, HubReachability
from cango_operator.siteguard.kube import HubApi, HubSilentError, SiteApi
from cango_operator.siteguard.memory import GuardMemory
from cango_operator.siteguard.replicas import SiteDeployment, committed_kw, of_site
from cango_operator.siteguard.report import reports_by_gpunode

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class GuardConfig:
    """Which sites, and how the hub is judged."""

    cluster: str
    sites: tuple[str, ...]
    probe_interval_s: float = 2.0
    misses: int = DEFAULT_MISSES


class SiteGuard:
    """Keeps a site's GPU work inside its power budget while the hub is out of reach."""

    def __init__(
        self, config: GuardConfig, site: SiteApi, hub: HubApi, clock: Clock = utc_now
    ) -> None:
        if not config.sites:
            raise ConfigError("the guard needs at least one --site")
        self._config = config
        self._site = site
        self._hub = hub
        self._clock = clock
        self._verdict = HubReachability(config.misses)
        self._memory = GuardMemory()
        self._specs: dict[str, SitePowerSpec] = {}
        self._deployments: dict[str, list[SiteDeployment]] = {}
        self._last_shed: dict[str, datetime] = {}
        self._runner: PowerRunner | None = None
        self._unsaved = False
        self.decisions: dict[str, Decision] = {}

    @property
    def hub_reachable(self) -> bool:
        return self._verdict.reachable

    async def run(self, stop: asyncio.Event) -> None:
        """Until ``stop`` is set."""
        self._memory = await self._site.load_memory()
        self._memory.hub_reachable = True  # this process has not seen the hub go yet
        async with PowerRunner(
            self.on_power, secrets=self._site.secret, gpu_load=self._load
        ) as runner:
            self._runner = runner
            for name in self._config.sites:
                if name in self._memory.sites:
                    await self._use_spec(name, self._memory.sites[name])
            while not stop.is_set():
                await self.probe()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), self._config.probe_interval_s)
        self._runner = None

    # -- the hub ---------------------------------------------------------------------

    async def probe(self) -> None:
        """Ask the hub for every Site once; judge it; report when it is back."""
        answered, changed_specs = False, False
        for name in self._config.sites:
            try:
                site = await self._hub.get_site(name)
            except HubSilentError as exc:
                log.debug("hub silent: %s", exc)
                break
            answered = True
            spec = (site or {}).get("spec")
            if not isinstance(spec, dict) or spec == self._memory.sites.get(name):
                continue
            if await self._use_spec(name, spec):
                self._memory.sites[name] = spec
                changed_specs = True
        now = self._clock()
        turned = self._verdict.observe(answered, now)
        if turned:
            self._memory.hub_reachable = self._verdict.reachable
            if not self._verdict.reachable:
                self._memory.hub_since = now
            log.warning(
                "hub %s: %s",
                "reachable again, handing back" if self._verdict.reachable else "unreachable",
                "reporting what was shed" if self._memory.pending else "nothing was shed",
            )
        if turned or changed_specs or self._unsaved:
            await self._save()
        if self._verdict.reachable and self._memory.pending:
            await self._report(now)

    async def _report(self, now: datetime) -> None:
        reports = reports_by_gpunode(
            self._memory.pending,
            cluster=self._config.cluster,
            unreachable_since=self._memory.hub_since,
            reachable_at=self._verdict.since or now,
        )
        try:
            for node, text in reports.items():
                await self._hub.annotate_gpunode(node, SITE_GUARD_REPORT_ANNOTATION, text)
        except Exception as exc:  # the hub went again, or refused: try at the next probe
            log.warning("report not written yet: %s", exc)
            return
        log.info("reported %d scale-downs on %s", len(self._memory.pending), sorted(reports))
        self._memory.pending = []
        self._memory.hub_since = None
        await self._save()

    async def _use_spec(self, name: str, spec: Mapping[str, Any]) -> bool:
        try:
            power = parse_site_power_spec(spec)
        except ConfigError as exc:
            log.error("Site %s: its power spec is not usable: %s", name, exc)
            return False
        self._specs[name] = power
        if self._runner is not None:
            await self._runner.set_site(name, power)
        return True

    # -- the feed ----------------------------------------------------------------------

    def _load(self, site: str) -> GpuLoad:
        """The committed power of the site's replicas, which the guard also takes as their
        draw (it cannot read the GpuNodes' measurements while the hub is away)."""
        kw = committed_kw(self._deployments.get(site, ()))
        return GpuLoad(node_power_kw=kw, committed_kw=kw)

    async def on_power(self, name: str, power: SitePowerState) -> None:
        """The feed runner's sink: after every sample of ``name``'s feed."""
        spec = self._specs.get(name)
        if spec is None:
            return
        deployments = of_site(await self._site.deployments(), name, spec.pue)
        self._deployments[name] = deployments
        decision = decide(
            hub_reachable=self._verdict.reachable,
            power=power,
            deployments=deployments,
            last_shed_at=self._last_shed.get(name),
        )
        self.decisions[name] = decision
        if decision.actions:
            await self._act(name, decision, deployments)

    async def _act(
        self, name: str, decision: Decision, deployments: Sequence[SiteDeployment]
    ) -> None:
        now = self._clock()
        self._last_shed[name] = now
        left = {d.name: d for d in deployments}
        for action in decision.actions:
            dep = action.deployment
            try:
                await self._site.scale_down(dep.namespace, dep.name, dep.replicas, action.to)
            except Exception as exc:  # changed meanwhile, or the site's API failed
                log.error("could not scale %s/%s down: %s", dep.namespace, dep.name, exc)
                continue
            log.warning(
                "site %s: %s/%s %d -> %d replicas (%s)",
                name,
                dep.namespace,
                dep.name,
                dep.replicas,
                action.to,
                action.reason,
            )
            left[dep.name] = replace(dep, running=replace(dep.running, replicas=action.to))
            self._memory.pending.append(
                ShedEntry(
                    at=now,
                    site=name,
                    namespace=dep.namespace,
                    job=dep.running.job.split("/", 1)[1],
                    deployment=dep.name,
                    gpunode=dep.gpunode,
                    from_replicas=dep.replicas,
                    to_replicas=action.to,
                    reason=action.reason,
                )
            )
        self._deployments[name] = list(left.values())
        await self._save()

    async def _save(self) -> None:
        try:
            await self._site.save_memory(self._memory)
        except Exception as exc:  # kept in memory; tried again at the next probe
            self._unsaved = True
            log.error("could not save the guard's ConfigMap: %s", exc)
        else:
            self._unsaved = False
