"""A LuxOS miner driven through pyasic, the real library, against a fake LuxOS miner on
loopback that answers what the firmware answers (cango_operator.devcluster.fakeminers)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import pytest

from cango_operator.devcluster.fakeminers import (
    S19J_PRO,
    FakeLuxMiner,
    FakeMinerServer,
    MinerFault,
)
from cango_operator.mining import MinerError, MinerErrorKind
from cango_operator.mining.luxos import LuxosDriver

TIMEOUT_S = 1.0


@pytest.fixture
async def served() -> AsyncIterator[tuple[FakeLuxMiner, LuxosDriver]]:
    miner = FakeLuxMiner(model=S19J_PRO, ramp_s=0)
    server = FakeMinerServer(miner)
    await server.start()
    try:
        yield miner, LuxosDriver(server.address, timeout_s=TIMEOUT_S)
    finally:
        await server.stop()


async def failure(call: object) -> MinerError:
    assert asyncio.iscoroutine(call)
    with pytest.raises(MinerError) as caught:
        await call
    return caught.value


class TestReading:
    async def test_reads_the_draw_the_profiles_and_the_active_one(
        self, served: tuple[FakeLuxMiner, LuxosDriver]
    ) -> None:
        miner, driver = served
        reading = await driver.read()
        assert reading.watts == 3050
        assert reading.profile == "default"
        assert [(p.name, p.watts) for p in reading.profiles] == [
            ("default", 3050),
            ("eco", 2450),
            ("low", 1900),
        ]
        assert not reading.asleep
        assert miner.requests == [("power+config+profiles", "")]

    async def test_the_draw_is_the_miners_own_figure(
        self, served: tuple[FakeLuxMiner, LuxosDriver]
    ) -> None:
        miner, driver = served
        miner.report_bias = 0.9
        assert (await driver.read()).watts == round(0.9 * miner.draw_w())


class TestActing:
    async def test_a_power_limit_picks_the_highest_profile_under_it_and_confirms_it(
        self, served: tuple[FakeLuxMiner, LuxosDriver]
    ) -> None:
        miner, driver = served
        chosen = await driver.set_power_limit(2500)
        assert chosen.name == "eco"
        assert miner.profile == "eco"
        assert not miner.atm_enabled  # ATM would move the profile on its own
        assert miner.requests[-1] == ("config", "")  # read back, not taken on its word

    async def test_a_limit_under_the_lowest_profile_is_refused_with_the_figures(
        self, served: tuple[FakeLuxMiner, LuxosDriver]
    ) -> None:
        miner, driver = served
        error = await failure(driver.set_power_limit(1000))
        assert error.kind is MinerErrorKind.UNSUPPORTED
        assert "1900 W" in str(error)
        assert miner.profile == "default"

    async def test_sleep_and_wake_show_in_the_draw(
        self, served: tuple[FakeLuxMiner, LuxosDriver]
    ) -> None:
        _miner, driver = served
        await driver.sleep()
        assert (await driver.read()).asleep
        await driver.wake()
        reading = await driver.read()
        assert not reading.asleep
        assert reading.watts == 3050

    async def test_an_expired_session_is_renewed_mid_ramp(
        self, served: tuple[FakeLuxMiner, LuxosDriver]
    ) -> None:
        miner, driver = served
        miner.session_ttl_s = 0.2
        await driver.sleep()
        await asyncio.sleep(0.3)
        await driver.wake()
        logons = [r for r in miner.requests if r[0] == "logon"]
        assert len(logons) == 2
        assert not miner.asleep

    async def test_a_session_another_client_opened_is_joined_not_fought_over(
        self, served: tuple[FakeLuxMiner, LuxosDriver]
    ) -> None:
        miner, driver = served
        assert miner.handle({"command": "logon"})["SESSION"][0]["SessionID"]
        driver._rpc.session_token = "expired-long-ago"  # what pyasic kept from before
        await driver.sleep()
        assert miner.asleep
        assert ("logon", "") not in miner.requests[1:]  # the miner's only session, joined


class TestFaults:
    async def test_a_silent_miner_times_out_within_the_drivers_timeout(
        self, served: tuple[FakeLuxMiner, LuxosDriver]
    ) -> None:
        miner, driver = served
        miner.fault = MinerFault.SILENT
        started = time.monotonic()
        error = await failure(driver.read())
        assert error.kind is MinerErrorKind.TIMEOUT
        assert time.monotonic() - started < 3 * TIMEOUT_S

    async def test_a_slow_miner_past_the_timeout_times_out(
        self, served: tuple[FakeLuxMiner, LuxosDriver]
    ) -> None:
        miner, driver = served
        miner.fault, miner.slow_s = MinerFault.SLOW, 2 * TIMEOUT_S
        assert (await failure(driver.read())).kind is MinerErrorKind.TIMEOUT

    async def test_a_refusing_miner_says_so(self, served: tuple[FakeLuxMiner, LuxosDriver]) -> None:
        miner, driver = served
        miner.fault = MinerFault.REFUSES
        error = await failure(driver.sleep())
        assert error.kind is MinerErrorKind.REFUSED
        assert "Access denied" in str(error)

    async def test_a_miner_that_lies_about_applying_is_caught_reading_back(
        self, served: tuple[FakeLuxMiner, LuxosDriver]
    ) -> None:
        miner, driver = served
        miner.fault = MinerFault.LIES
        error = await failure(driver.set_power_limit(2000))
        assert error.kind is MinerErrorKind.UNCONFIRMED
        assert "runs default" in str(error)

    async def test_a_miner_that_is_off_is_unreachable(self) -> None:
        server = FakeMinerServer(FakeLuxMiner())
        await server.start()
        driver = LuxosDriver(server.address, timeout_s=TIMEOUT_S)
        await server.stop()
        assert (await failure(driver.read())).kind is MinerErrorKind.UNREACHABLE
