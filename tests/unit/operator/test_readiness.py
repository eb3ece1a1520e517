"""/readyz means "watching": not when the operator has started, but once kopf has listed
every watched kind, which it shows by its first handler call."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from types import SimpleNamespace

import aiohttp
import kopf
import pytest

from cango_operator.operator import handlers
from cango_operator.operator.httpserver import start_http
from cango_operator.operator.options import OperatorOptions
from tests.unit.operator.test_indexed import Rounds, node_event, runtime
from tests.unit.power.servers import free_port


class Probe:
    def __init__(self, port: int) -> None:
        self.url = f"http://127.0.0.1:{port}/readyz"

    async def status(self) -> int:
        async with aiohttp.ClientSession() as session, session.get(self.url) as response:
            return response.status


@pytest.fixture
async def started() -> AsyncIterator[tuple[handlers.Runtime, Probe]]:
    """An operator runtime through kopf's startup handler, serving /readyz."""
    rt = runtime(Rounds())
    memo = SimpleNamespace(runtime=rt)
    port = free_port()
    http = await start_http("127.0.0.1", port, rt.ready)
    await handlers.on_startup(settings=kopf.OperatorSettings(), memo=memo)
    try:
        yield rt, Probe(port)
    finally:
        await handlers.on_cleanup(memo=memo)
        await http.cleanup()


# operator/settings.py still sets kopf's renamed batching settings; kopf warns, and the
# warning is not what these tests are about.
@pytest.mark.filterwarnings("ignore:Batching settings are now queueing settings")
@pytest.mark.filterwarnings("ignore:Time-based event batching was removed")
class TestReadiness:
    async def test_started_but_not_yet_listed_is_not_ready(
        self, started: tuple[handlers.Runtime, Probe]
    ) -> None:
        _, probe = started
        assert await probe.status() == 503

    async def test_ready_after_the_first_handler_call(
        self, started: tuple[handlers.Runtime, Probe]
    ) -> None:
        rt, probe = started
        event = node_event()
        event["memo"].runtime = rt
        await handlers.on_change(**event)
        assert await probe.status() == 200

    async def test_a_peering_keepalive_makes_it_ready_too(
        self, started: tuple[handlers.Runtime, Probe]
    ) -> None:
        rt, probe = started
        await handlers.on_peering(memo=SimpleNamespace(runtime=rt))
        assert await probe.status() == 200


@pytest.mark.filterwarnings("ignore:Batching settings are now queueing settings")
@pytest.mark.filterwarnings("ignore:Time-based event batching was removed")
class TestReadinessOfAPeeredPair:
    async def test_a_standby_is_ready_to_take_over_the_active_one_once_it_watches(self) -> None:
        rt = runtime(Rounds())
        rt.options = OperatorOptions(peering="cango")
        memo = SimpleNamespace(runtime=rt)
        port = free_port()
        http = await start_http("127.0.0.1", port, rt.ready)
        probe = Probe(port)
        try:
            assert await probe.status() == 503  # not even started
            await handlers.on_startup(settings=kopf.OperatorSettings(), memo=memo)
            # kopf pauses a standby: no handler call comes, yet it is ready to take over.
            assert await probe.status() == 200
            # Active (its peering keep-alives arrive) but not listed yet: not ready...
            rt.last_keepalive = time.monotonic()
            assert await probe.status() == 503
            # ...until kopf's first handler call shows it watches the fleet.
            rt.mark_indexed()
            assert await probe.status() == 200
        finally:
            await handlers.on_cleanup(memo=memo)
            await http.cleanup()
