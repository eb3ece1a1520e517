"""The link proxy between a real client and a real TCP echo server on 127.0.0.1: bytes
pass unchanged; a cut stalls what is open and holds what comes, a reset cut closes them;
heal lets everything through again; a delay holds each chunk back."""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
from collections.abc import AsyncIterator

from cango_operator.devcluster.wanlink import LinkProxy
from cango_operator.devcluster.wanstate import LinkState
from tests.loopback import EchoEndpoint, echo_endpoint, free_port

#: Long enough for bytes to cross loopback many times over: nothing came in this long
#: means the link held them back.
QUIET_S = 0.5


@contextlib.asynccontextmanager
async def linked(
    state: LinkState | None = None,
) -> AsyncIterator[tuple[LinkProxy, int, EchoEndpoint]]:
    """A proxy in front of an echo server; yields it, its port and the echo server."""
    async with echo_endpoint() as echo:
        proxy = LinkProxy(("127.0.0.1", echo.port), state)
        port = await proxy.start("127.0.0.1", 0)
        try:
            yield proxy, port, echo
        finally:
            await proxy.stop()


@contextlib.asynccontextmanager
async def connection(port: int) -> AsyncIterator[tuple[asyncio.StreamReader, asyncio.StreamWriter]]:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        yield reader, writer
    finally:
        writer.close()
        with contextlib.suppress(ConnectionError):
            await writer.wait_closed()


async def round_trip(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, data: bytes, timeout: float = 5
) -> bytes:
    writer.write(data)
    await writer.drain()
    return await asyncio.wait_for(reader.readexactly(len(data)), timeout)


async def nothing_comes(reader: asyncio.StreamReader) -> bool:
    """True when the connection stays open and silent for QUIET_S."""
    try:
        await asyncio.wait_for(reader.read(1), QUIET_S)
    except TimeoutError:
        return True
    return False


class TestForwarding:
    async def test_bytes_pass_unchanged_both_ways_and_are_counted(self) -> None:
        payload = os.urandom(300_000)
        async with linked() as (proxy, port, echo), connection(port) as (reader, writer):
            assert await round_trip(reader, writer, payload) == payload
            status = proxy.status()
            assert status["bytes_up"] == status["bytes_down"] == len(payload)
            assert (status["open_connections"], status["accepted"], echo.connections) == (1, 1, 1)

    async def test_a_client_that_leaves_is_forgotten(self) -> None:
        async with linked() as (proxy, port, _):
            async with connection(port) as (reader, writer):
                await round_trip(reader, writer, b"hello")
            for _ in range(50):
                if proxy.status()["open_connections"] == 0:
                    break
                await asyncio.sleep(0.05)
            assert proxy.status()["open_connections"] == 0

    async def test_a_target_that_is_down_closes_the_connection(self) -> None:
        proxy = LinkProxy(("127.0.0.1", free_port()))
        port = await proxy.start("127.0.0.1", 0)
        try:
            async with connection(port) as (reader, _):
                assert await asyncio.wait_for(reader.read(1), 5) == b""
        finally:
            await proxy.stop()


class TestCut:
    async def test_a_cut_stalls_an_open_connection_and_heal_resumes_it(self) -> None:
        async with linked() as (proxy, port, _), connection(port) as (reader, writer):
            await round_trip(reader, writer, b"before")
            proxy.command("cut", {})
            writer.write(b"during")
            await writer.drain()
            assert await nothing_comes(reader)
            proxy.command("heal", {})
            assert await asyncio.wait_for(reader.readexactly(6), 5) == b"during"

    async def test_a_connection_made_while_cut_is_held_unanswered_until_heal(self) -> None:
        async with linked() as (proxy, port, echo):
            proxy.command("cut", {})
            async with connection(port) as (reader, writer):
                writer.write(b"knock")
                await writer.drain()
                assert await nothing_comes(reader)
                assert echo.connections == 0
                assert proxy.status()["open_connections"] == 1
                proxy.command("heal", {})
                assert await asyncio.wait_for(reader.readexactly(5), 5) == b"knock"
                assert echo.connections == 1

    async def test_a_client_that_gave_up_while_cut_is_never_replayed_to_the_target(
        self,
    ) -> None:
        async with linked() as (proxy, port, echo):
            proxy.command("cut", {})
            async with connection(port) as (_, writer):
                writer.write(b"hello, is the hub there?")
                await writer.drain()
            # The client closed; a moment for the proxy to notice, then the link heals.
            await asyncio.sleep(0.2)
            proxy.command("heal", {})
            await asyncio.sleep(QUIET_S)
            assert echo.connections == 0
            assert proxy.status()["open_connections"] == 0

    async def test_a_reset_cut_closes_open_connections_and_refuses_new_ones(self) -> None:
        async with linked() as (proxy, port, _):
            async with connection(port) as (reader, writer):
                await round_trip(reader, writer, b"x")
                proxy.command("cut", {"reset": True})
                with contextlib.suppress(ConnectionError):
                    assert await asyncio.wait_for(reader.read(1), 5) == b""
            async with connection(port) as (reader, _):
                with contextlib.suppress(ConnectionError):
                    assert await asyncio.wait_for(reader.read(1), 5) == b""
            proxy.command("heal", {})
            async with connection(port) as (reader, writer):
                assert await round_trip(reader, writer, b"back") == b"back"

    async def test_connections_beyond_the_bound_are_closed_at_once(self) -> None:
        async with (
            linked(LinkState(max_connections=1)) as (_, port, _echo),
            connection(port) as (reader, writer),
        ):
            await round_trip(reader, writer, b"first")
            async with connection(port) as (second, _):
                with contextlib.suppress(ConnectionError):
                    assert await asyncio.wait_for(second.read(1), 5) == b""


class TestDelay:
    async def test_a_round_trip_takes_at_least_the_delay_each_way(self) -> None:
        ms = 200
        async with linked() as (proxy, port, _), connection(port) as (reader, writer):
            proxy.command("delay", {"ms": ms})
            started = time.monotonic()
            await round_trip(reader, writer, b"slow")
            assert time.monotonic() - started >= 2 * ms / 1000
            proxy.command("delay", {"ms": 0})
            assert await round_trip(reader, writer, b"fast") == b"fast"
