"""The guard as a whole, against a fake site and a fake hub: it watches while the hub
answers, sheds in order once the hub is away, remembers across a restart, and reports
when the hub is back."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any

import pytest

from cango_operator.api import SITE_GUARD_REPORT_ANNOTATION
from cango_operator.siteguard import (
    GuardConfig,
    GuardMemory,
    HubApi,
    HubSilentError,
    SiteApi,
    SiteGuard,
)
from tests.unit.siteguard.factories import SITE, T0, at_site, deployment, short_by

SPEC = {"power": {"capacityKw": 2000, "reserveKw": 10, "pue": 1.1}}


class FakeSite:
    def __init__(self, *deployments: dict[str, Any]) -> None:
        self.items = {d["metadata"]["name"]: d for d in deployments}
        self.memory = GuardMemory()
        self.scaled: list[tuple[str, int, int]] = []

    async def deployments(self) -> list[dict[str, Any]]:
        return list(self.items.values())

    async def scale_down(self, namespace: str, name: str, was: int, to: int) -> None:
        assert self.items[name]["spec"]["replicas"] == was
        self.items[name]["spec"]["replicas"] = to
        self.scaled.append(
            (self.items[name]["metadata"]["labels"]["compute.cango.io/job"], was, to)
        )

    async def load_memory(self) -> GuardMemory:
        return GuardMemory.from_data(self.memory.to_data())

    async def save_memory(self, memory: GuardMemory) -> None:
        self.memory = GuardMemory.from_data(memory.to_data())

    async def secret(self, name: str, namespace: str | None) -> Mapping[str, str]:
        raise AssertionError("no feed here needs a Secret")


class FakeHub:
    def __init__(self) -> None:
        self.answering = True
        self.annotations: dict[str, dict[str, str]] = {}

    async def get_site(self, name: str) -> dict[str, Any] | None:
        if not self.answering:
            raise HubSilentError("timed out")
        return {"metadata": {"name": name}, "spec": SPEC}

    async def annotate_gpunode(self, name: str, key: str, value: str) -> None:
        if not self.answering:
            raise HubSilentError("timed out")
        self.annotations.setdefault(name, {})[key] = value


class Clock:
    """Stands still until a sample moves it: the guard acts at the time of its sample."""

    now = T0

    def __call__(self) -> datetime:
        return self.now


CLOCK = Clock()


def guard_of(site: FakeSite, hub: FakeHub) -> SiteGuard:
    config = GuardConfig(cluster="latam-1", sites=(SITE,), misses=2)
    return SiteGuard(config, site, hub, clock=CLOCK)  # type: ignore[arg-type]


async def started(guard: SiteGuard) -> SiteGuard:
    """What ``run`` does before its loop: read the memory, take the specs it holds."""
    stop = asyncio.Event()
    stop.set()
    await guard.run(stop)
    return guard


def fleet() -> FakeSite:
    return FakeSite(
        deployment("vip", priority=100),
        deployment("cheap", 2, preemptible=True),
        deployment("batch", priority=10),
    )


async def sample(guard: SiteGuard, site: FakeSite, short_kw: float, second: int) -> None:
    deps = at_site(*site.items.values())
    CLOCK.now = T0.replace(second=second)
    await guard.on_power(SITE, short_by(deps, short_kw, sampled=CLOCK.now))


async def cut_off(guard: SiteGuard, hub: FakeHub) -> None:
    """The hub stops answering; the guard probes until it takes the hub for away."""
    hub.answering = False
    for _ in range(2):
        await guard.probe()
    assert not guard.hub_reachable


class TestWatchingWhileTheHubAnswers:
    def test_nothing_is_scaled_however_short_the_budget(self) -> None:
        async def go() -> None:
            site, hub = fleet(), FakeHub()
            guard = guard_of(site, hub)
            await guard.probe()
            await sample(guard, site, 5.0, 1)
            assert site.scaled == []
            assert site.memory.sites == {SITE: SPEC}

        asyncio.run(go())


class TestSheddingWhileTheHubIsAway:
    def test_in_the_engines_order_then_reported_when_the_hub_is_back(self) -> None:
        async def go() -> None:
            site, hub = fleet(), FakeHub()
            guard = guard_of(site, hub)
            await guard.probe()
            hub.answering = False
            await guard.probe()
            await sample(guard, site, 1.0, 5)
            assert site.scaled == []  # one silence is not a cut
            await guard.probe()
            assert not guard.hub_reachable
            await sample(guard, site, 1.0, 10)
            assert site.scaled == [("cheap", 2, 0)]
            await sample(guard, site, 0.5, 10)  # not taken after the shed: no use
            await sample(guard, site, 0.5, 20)
            assert site.scaled == [("cheap", 2, 0), ("batch", 1, 0)]
            await sample(guard, site, 0.0, 30)
            assert len(site.memory.pending) == 2  # kept at the site until reported

            hub.answering = True
            await guard.probe()
            assert guard.hub_reachable
            doc = json.loads(hub.annotations["gpu-1"][SITE_GUARD_REPORT_ANNOTATION])
            assert [(s["job"], s["toReplicas"]) for s in doc["shed"]] == [
                ("cheap", 0),
                ("batch", 0),
            ]
            assert doc["cluster"] == "latam-1"
            assert site.memory.pending == []

        asyncio.run(go())


class TestRestartedDuringACut:
    def test_knows_the_spec_and_what_it_has_not_reported(self) -> None:
        async def go() -> None:
            site, hub = fleet(), FakeHub()
            first = guard_of(site, hub)
            await first.probe()
            await cut_off(first, hub)
            await sample(first, site, 1.0, 10)

            second = await started(guard_of(site, hub))
            await cut_off(second, hub)
            await sample(second, site, 0.5, 20)
            assert site.scaled == [("cheap", 2, 0), ("batch", 1, 0)]
            hub.answering = True
            await second.probe()
            doc = json.loads(hub.annotations["gpu-1"][SITE_GUARD_REPORT_ANNOTATION])
            assert [s["job"] for s in doc["shed"]] == ["cheap", "batch"]

        asyncio.run(go())


def test_a_guard_needs_a_site() -> None:
    from cango_operator.errors import ConfigError

    with pytest.raises(ConfigError, match="--site"):
        SiteGuard(GuardConfig("c", ()), FakeSite(), FakeHub())  # type: ignore[arg-type]


# The fakes stand for these.
_ = (SiteApi, HubApi)


class TestItsMemory:
    def test_a_save_that_failed_is_tried_again_at_the_next_probe(self) -> None:
        async def go() -> None:
            site, hub = fleet(), FakeHub()
            saved = site.save_memory
            failures = [RuntimeError("namespace not there yet")]

            async def flaky(memory: GuardMemory) -> None:
                if failures:
                    raise failures.pop()
                await saved(memory)

            site.save_memory = flaky  # type: ignore[method-assign]
            guard = guard_of(site, hub)
            await guard.probe()
            assert site.memory.sites == {}
            await guard.probe()
            assert site.memory.sites == {SITE: SPEC}

        asyncio.run(go())
