"""An ePIC miner driven through pyasic's web client against a fake ePIC miner on
loopback (HTTP on its own port): sleep and wake only, the password from a Secret."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Coroutine
from typing import Any

import pytest

from cango_operator.devcluster.fakeminers import FakeEpicMiner, FakeEpicServer, MinerFault
from cango_operator.mining import MinerError, MinerErrorKind
from cango_operator.mining.epic import EpicDriver

PASSWORD = "not-the-factory-one"
TIMEOUT_S = 1.0


@pytest.fixture
async def served() -> AsyncIterator[tuple[FakeEpicMiner, FakeEpicServer]]:
    miner = FakeEpicMiner(password=PASSWORD, ramp_s=0)
    server = FakeEpicServer(miner)
    await server.start()
    try:
        yield miner, server
    finally:
        await server.stop()


def driver(server: FakeEpicServer, password: str = PASSWORD) -> EpicDriver:
    return EpicDriver(server.address, password, timeout_s=TIMEOUT_S)


async def failure(call: Coroutine[Any, Any, Any]) -> MinerError:
    with pytest.raises(MinerError) as caught:
        await call
    return caught.value


class TestReadingAndActing:
    async def test_reads_the_draw_and_the_hashrate_of_its_boards(
        self, served: tuple[FakeEpicMiner, FakeEpicServer]
    ) -> None:
        miner, server = served
        reading = await driver(server).read()
        assert (reading.watts, reading.asleep, reading.profiles) == (3300, False, ())
        assert reading.hashrate_ths == pytest.approx(110)
        assert miner.requests == [("GET /summary", "")]

    async def test_stop_and_autostart_with_the_password_from_the_secret(
        self, served: tuple[FakeEpicMiner, FakeEpicServer]
    ) -> None:
        miner, server = served
        await driver(server).sleep()
        assert (await driver(server).read()).asleep
        await driver(server).wake()
        assert not miner.asleep
        assert [r for r in miner.requests if r[0] == "POST /miner"] == [
            ("POST /miner", "Stop"),
            ("POST /miner", "Autostart"),
        ]

    async def test_there_is_no_power_limit_to_set(
        self, served: tuple[FakeEpicMiner, FakeEpicServer]
    ) -> None:
        _, server = served
        error = await failure(driver(server).set_power_limit(2000))
        assert error.kind is MinerErrorKind.UNSUPPORTED

    def test_there_is_no_default_password(self) -> None:
        with pytest.raises(ValueError, match="credentialsSecretRef"):
            EpicDriver("127.0.0.1:4028", "")


class TestFaults:
    async def test_a_wrong_password_is_refused(
        self, served: tuple[FakeEpicMiner, FakeEpicServer]
    ) -> None:
        miner, server = served
        error = await failure(driver(server, "letmein").sleep())
        assert error.kind is MinerErrorKind.REFUSED
        assert "401" in str(error)
        assert not miner.asleep

    async def test_a_refusal_in_the_answer_is_refused(
        self, served: tuple[FakeEpicMiner, FakeEpicServer]
    ) -> None:
        miner, server = served
        miner.fault = MinerFault.REFUSES
        assert "Access denied" in str(await failure(driver(server).sleep()))

    async def test_a_silent_miner_times_out(
        self, served: tuple[FakeEpicMiner, FakeEpicServer]
    ) -> None:
        miner, server = served
        miner.fault = MinerFault.SILENT
        started = time.monotonic()
        assert (await failure(driver(server).read())).kind is MinerErrorKind.TIMEOUT
        assert time.monotonic() - started < 3 * TIMEOUT_S

    async def test_a_miner_that_lies_keeps_drawing(
        self, served: tuple[FakeEpicMiner, FakeEpicServer]
    ) -> None:
        miner, server = served
        miner.fault = MinerFault.LIES
        await driver(server).sleep()  # it says yes
        assert not (await driver(server).read()).asleep  # the draw says no

    async def test_a_miner_that_is_off_is_unreachable(self) -> None:
        server = FakeEpicServer(FakeEpicMiner(password=PASSWORD))
        await server.start()
        await server.stop()
        assert (await failure(driver(server).read())).kind is MinerErrorKind.UNREACHABLE
