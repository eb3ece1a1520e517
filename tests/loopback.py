"""TCP on 127.0.0.1 for tests: an endpoint that accepts and closes, an echo server, and a
free port."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator


@contextlib.asynccontextmanager
async def accepting_endpoint() -> AsyncIterator[int]:
    """A real TCP server on 127.0.0.1 that accepts and closes connections; yields its port."""

    async def accept(_: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.close()

    server = await asyncio.start_server(accept, "127.0.0.1", 0)
    try:
        yield int(server.sockets[0].getsockname()[1])
    finally:
        server.close()
        await server.wait_closed()


def free_port() -> int:
    """A port on 127.0.0.1 nothing listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class EchoEndpoint:
    """A real TCP echo server on 127.0.0.1 that counts the connections it got."""

    def __init__(self) -> None:
        self.connections = 0
        self.port = 0

    async def _echo(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        except ConnectionError:
            pass
        finally:
            writer.close()


@contextlib.asynccontextmanager
async def echo_endpoint() -> AsyncIterator[EchoEndpoint]:
    """An :class:`EchoEndpoint` listening until the block ends."""
    echo = EchoEndpoint()
    server = await asyncio.start_server(echo._echo, "127.0.0.1", 0)
    echo.port = int(server.sockets[0].getsockname()[1])
    try:
        yield echo
    finally:
        server.close()
        await server.wait_closed()
