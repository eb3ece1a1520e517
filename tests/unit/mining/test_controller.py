"""The mining controller: a fleet of fake LuxOS miners on loopback, driven through the
real library to a power target in batches."""

from __future__ import annotations

import asyncio
import itertools
import os
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest

from cango_operator.api import ShedOrder
from cango_operator.devcluster.fakeminers import (
    FakeLuxMiner,
    FakeMinerFleet,
    MinerFault,
    mixed_fleet,
)
from cango_operator.mining import MinerErrorKind
from cango_operator.mining.controller import MiningController
from cango_operator.mining.luxos import LuxosDriver
from cango_operator.mining.ramp import SLEEP_W, RampLimits

LuxFleet = FakeMinerFleet[FakeLuxMiner]


@pytest.fixture
async def fleets() -> AsyncIterator[list[LuxFleet]]:
    started: list[LuxFleet] = []
    yield started
    for fleet in started:
        await fleet.__aexit__(None, None, None)


async def start(
    fleets: list[LuxFleet],
    count: int,
    *,
    second_octet: int | None = None,
    **kw: Any,
) -> LuxFleet:
    fleet = FakeMinerFleet(mixed_fleet(count, ramp_s=0, **kw), second_octet=second_octet)
    await fleet.__aenter__()
    fleets.append(fleet)
    return fleet


def controller(fleet: LuxFleet, limits: RampLimits, **kw: object) -> MiningController:
    drivers = [LuxosDriver(a, timeout_s=0.5) for a in fleet.addresses]
    return MiningController(drivers, limits, retries=1, backoff_s=0.01, **kw)  # type: ignore[arg-type]


class TestRampingDown:
    async def test_500_miners_on_the_librarys_default_port_shed_half_in_batches(
        self, fleets: list[LuxFleet]
    ) -> None:
        # Miner i on 127.<octet>.y.z:4028; an octet of this process's own.
        fleet = await start(fleets, 500, second_octet=100 + os.getpid() % 150)
        limits = RampLimits(batch_size=50, batch_interval_s=0.05)
        ctl = controller(fleet, limits, order=ShedOrder.SLEEP_FIRST)
        target = fleet.draw_w() / 2
        started = time.monotonic()
        report = await ctl.drive(target)
        seconds = time.monotonic() - started
        assert not report.failed
        assert all(len(b.results) <= 50 for b in report.batches)
        starts = [b.started_s for b in report.batches]
        assert all(b - a >= 0.05 for a, b in itertools.pairwise(starts))
        assert fleet.draw_w() <= target
        assert report.fleet.asleep == sum(m.asleep for m in fleet.miners) > 0
        print(
            f"500 miners: {report.fleet.asleep} put to sleep in {len(report.batches)} batches "
            f"of <= 50, {seconds:.2f} s including the first read of all 500"
        )

    async def test_lowers_profiles_first_then_sleeps_the_least_efficient(
        self, fleets: list[LuxFleet]
    ) -> None:
        fleet = await start(fleets, 6)
        ctl = controller(fleet, RampLimits(batch_size=10, batch_interval_s=0))
        before = fleet.draw_w()  # two each of S19, S19j Pro, S21: least to most efficient
        report = await ctl.drive(before / 2)
        assert not report.failed
        assert fleet.draw_w() <= before / 2
        assert [m.model.name for m in fleet.miners if m.asleep] == ["Antminer S19"] * 2
        by_model = {(m.model.name, m.profile) for m in fleet.miners if not m.asleep}
        assert ("Antminer S19j Pro", "low") in by_model
        assert ("Antminer S19j Pro", "default") not in by_model

    async def test_a_restore_wakes_them_again_without_overshooting(
        self, fleets: list[LuxFleet]
    ) -> None:
        fleet = await start(fleets, 6)
        ctl = controller(fleet, RampLimits(batch_size=10, batch_interval_s=0))
        full = fleet.draw_w()
        await ctl.drive(full * 0.3)
        report = await ctl.drive(full * 0.8)
        assert not report.failed
        assert full * 0.3 < fleet.draw_w() <= full * 0.8


class TestMinersThatMisbehave:
    async def test_a_silent_miner_counts_at_its_last_draw_and_the_rest_cover_for_it(
        self, fleets: list[LuxFleet]
    ) -> None:
        fleet = await start(fleets, 6)
        ctl = controller(fleet, RampLimits(batch_size=10, batch_interval_s=0))
        await ctl.refresh()
        quiet = fleet.miners[0]
        quiet.fault = MinerFault.SILENT
        target = fleet.draw_w() / 2
        report = await ctl.drive(target)
        assert report.fleet.unreachable == 1
        assert report.fleet.mining_w >= quiet.draw_w()
        assert not quiet.asleep
        assert fleet.draw_w() <= target

    async def test_a_refusal_is_reported_and_the_others_go_on(self, fleets: list[LuxFleet]) -> None:
        fleet = await start(fleets, 6)
        fleet.miners[2].fault = MinerFault.REFUSES
        ctl = controller(fleet, RampLimits(batch_size=10, batch_interval_s=0))
        report = await ctl.drive(0)
        assert [(r.action.address, r.error.kind) for r in report.failed if r.error] == [
            (fleet.addresses[2], MinerErrorKind.REFUSED)
        ]
        assert sum(m.asleep for m in fleet.miners) == 5
        assert report.expected_w == pytest.approx(5 * SLEEP_W + fleet.miners[2].draw_w())

    async def test_sessions_expiring_between_batches_are_renewed(
        self, fleets: list[LuxFleet]
    ) -> None:
        fleet = await start(fleets, 6, session_ttl_s=0.05)
        ctl = controller(fleet, RampLimits(batch_size=2, batch_interval_s=0.1))
        await ctl.drive(0)
        await asyncio.sleep(0.1)
        report = await ctl.drive(fleet.draw_w() + 20_000)
        assert not report.failed
        assert not any(m.asleep for m in fleet.miners)
        logons = [sum(c == "logon" for c, _ in m.requests) for m in fleet.miners]
        assert min(logons) == 2
