"""The demo's miners: fake LuxOS fleets the site-mining controllers really drive.

Each site's curtailable mining (``mining.curtailableKw``) is a fleet of fake miners on
loopback (``127.<MINER_OCTET>.y.z:4028``, the firmware's own port), a mix of three
models; the rest of its mining (``loadKw - curtailableKw``) is hosted load nobody
drives. The sites' meters follow the miners (:meth:`DemoMiners.meter_kw`), and one
site-mining controller per site (the production code, in this process, against the
hub) reads its Site and drives its fleet to the operator's ``miningTargetKw``, ramping
in batches. Across the example scenario's 40 sites that is about 280 miners.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from cango_operator.api import revenue
from cango_operator.demo.scenario import Scenario, SiteScenario
from cango_operator.devcluster.fakeminers import (
    S19,
    S19J_PRO,
    S21,
    FakeLuxMiner,
    FakeMinerFleet,
    MinerModel,
)
from cango_operator.sitemining.kube import SiteClient
from cango_operator.sitemining.runner import SiteMiningConfig, SiteMiningRunner

#: The loopback block of the demo's miners (tests and benchmarks use others).
MINER_OCTET = 231
MODELS: tuple[MinerModel, ...] = (S19, S19J_PRO, S21)
#: Seconds a fake miner takes to reach a new draw (real seconds: a few simulated minutes).
MINER_RAMP_S = 1.0
#: The controllers' pace, in real seconds (the day plays at hundreds of times real time).
INTERVAL_S = 2.0
RAMP = {"batchSize": 50, "batchIntervalSeconds": 0.25}


def efficiency_j_per_th(model: MinerModel) -> float:
    """J/TH of the model at the profile it boots into."""
    first = model.profiles[0]
    return first.watts / first.hashrate_ths


def mean_miner_kw() -> float:
    return sum(m.profiles[0].watts for m in MODELS) / len(MODELS) / 1000


def fleet_size(site: SiteScenario) -> int:
    """Miners standing for the site's curtailable mining (none when it has none)."""
    kw = site.mining.curtailable_kw
    return 0 if kw <= 0 else max(1, round(kw / mean_miner_kw()))


def mining_usd_per_kwh(scenario: Scenario) -> float:
    """What a kWh of the demo's miners earns on average (the report's mining revenue)."""
    mean_j_per_th = sum(efficiency_j_per_th(m) for m in MODELS) / len(MODELS)
    return revenue.mining_usd_per_kwh(scenario.hashprice_usd_per_ph_day, mean_j_per_th)


@dataclass
class _SiteFleet:
    site: SiteScenario
    miners: list[FakeLuxMiner]
    addresses: list[str]


class DemoMiners:
    """Every site's fake miners, their Site groups, the meters' mining and the controllers."""

    def __init__(self, scenario: Scenario) -> None:
        self.scenario = scenario
        miners: list[FakeLuxMiner] = []
        layout: list[tuple[SiteScenario, int, int]] = []
        for site in scenario.sites:
            n = fleet_size(site)
            layout.append((site, len(miners), n))
            miners += [
                FakeLuxMiner(model=MODELS[(len(miners) + i) % len(MODELS)], ramp_s=MINER_RAMP_S)
                for i in range(n)
            ]
        self.fleet = FakeMinerFleet(miners, second_octet=MINER_OCTET)
        addresses = self.fleet.addresses
        self.sites = {
            site.name: _SiteFleet(site, miners[i : i + n], addresses[i : i + n])
            for site, i, n in layout
            if n
        }
        self._tasks: list[asyncio.Task[None]] = []
        self._stop = asyncio.Event()
        self._started = False

    @property
    def count(self) -> int:
        return sum(len(f.miners) for f in self.sites.values())

    def spec_mining(self, site: SiteScenario) -> dict[str, Any]:
        """``spec.mining`` of the site's Site: its load, its miners by model, the ramp and
        the revenue inputs."""
        mining: dict[str, Any] = {
            "loadKw": site.mining.load_kw,
            "curtailableKw": site.mining.curtailable_kw,
            "hashpriceUsdPerPhDay": self.scenario.hashprice_usd_per_ph_day,
            "efficiencyJPerTh": round(max(efficiency_j_per_th(m) for m in MODELS), 2),
        }
        fleet = self.sites.get(site.name)
        if fleet is None:
            return mining
        groups = []
        for model in MODELS:
            addresses = [
                a for a, m in zip(fleet.addresses, fleet.miners, strict=True) if m.model is model
            ]
            if addresses:
                groups.append(
                    {
                        "firmware": "luxos",
                        "addresses": addresses,
                        "efficiencyJPerTh": round(efficiency_j_per_th(model), 2),
                    }
                )
        return {
            **mining,
            "miners": groups,
            "ramp": dict(RAMP),
            "shedOrder": site.mining.shed_order.value,
        }

    def meter_kw(self, site: str, scripted_kw: float) -> float:
        """The site meter's mining: the hosted part of the scripted load, plus what the
        fake miners draw now (a dark site, scripted 0, draws nothing)."""
        fleet = self.sites.get(site)
        if fleet is None or scripted_kw <= 0:
            return scripted_kw
        hosted = max(0.0, scripted_kw - fleet.site.mining.curtailable_kw)
        return hosted + sum(m.draw_w() for m in fleet.miners) / 1000

    async def start(self) -> None:
        await self.fleet.__aenter__()
        self._started = True

    def drive(self, site_client: Callable[[], Any]) -> None:
        """Start one site-mining controller per site with miners (``site_client``: a new
        Kubernetes API client for the hub each)."""
        for name in sorted(self.sites):
            config = SiteMiningConfig(
                name, interval_s=INTERVAL_S, timeout_s=2.0, concurrency=16, instance="demo"
            )
            runner = SiteMiningRunner(config, SiteClient(site_client()))
            self._tasks.append(asyncio.create_task(runner.run(self._stop), name=f"mining-{name}"))

    async def stop(self) -> None:
        self._stop.set()
        if self._tasks:
            _, pending = await asyncio.wait(self._tasks, timeout=10)
            for task in pending:
                task.cancel()
        if self._started:
            await self.fleet.__aexit__(None, None, None)
            self._started = False


def describe(miners: DemoMiners) -> str:
    kw = sum(m.draw_w() for f in miners.sites.values() for m in f.miners) / 1000
    return f"{miners.count} fake LuxOS miners at {len(miners.sites)} sites ({math.ceil(kw)} kW)"
