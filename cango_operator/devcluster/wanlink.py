"""One site's WAN link to the hub, simulated: a TCP proxy on 127.0.0.1 that the test bed
cuts, heals and delays through a small HTTP control endpoint.

    python -m cango_operator.devcluster.wanlink --listen 127.0.0.1:PORT \\
        --target 127.0.0.1:HUBPORT --control 127.0.0.1:CPORT

Its own process, because ``dev federation up`` returns while the federation runs. Bytes
pass through untouched (TLS included: the client verifies the hub's certificate, which
names 127.0.0.1). Control: ``GET /status``; ``POST /cut`` (JSON ``{"reset": false}``),
``/heal``, ``/delay`` (``{"ms": N}``, added to each direction).

A cut is a dead WAN by default, not a refusing one: open connections stall (nothing is
read or written, no FIN, no RST) and new connections are accepted and held, unanswered.
That is what a site sees when a link drops: its requests and TLS handshakes time out, its
HTTP/2 health checks fail, after a while, and it cannot tell a dead link from a slow hub.
A refused or reset connection would tell it at once, which no real cut does; that is
``reset`` (a router that rebooted, a firewall rejecting). On heal, stalled connections go
on where they stopped (as TCP does after a short outage), unless an end gave up meanwhile;
a connection made while cut whose client gave up is forgotten, never replayed to the hub
on heal (through a dead WAN its handshake never arrived anywhere).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import signal
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from cango_operator.devcluster.wanclient import UP
from cango_operator.devcluster.wanstate import LinkState, loopback_address

CHUNK = 64 * 1024
#: Chunks in flight per direction (the delay line): what the delay may hold back.
QUEUE_CHUNKS = 64
CONNECT_TIMEOUT_S = 10.0


@dataclass(eq=False)
class _Connection:
    client: asyncio.StreamWriter
    upstream: asyncio.StreamWriter | None = None

    def abort(self) -> None:
        for writer in (self.client, self.upstream):
            if writer is not None:
                writer.transport.abort()


class LinkProxy:
    """Forwards every connection on its listening address to ``target``, as ``state``
    says: at once, held back while cut, each chunk late by the delay."""

    def __init__(self, target: tuple[str, int], state: LinkState | None = None) -> None:
        self.target = target
        self.state = state if state is not None else LinkState()
        self._up = asyncio.Event()
        self._up.set()
        self._open: set[_Connection] = set()
        self._server: asyncio.Server | None = None

    async def start(self, host: str, port: int) -> int:
        """Listen on ``host:port`` (0: any free port); returns the port."""
        self._server = await asyncio.start_server(self._handle, host, port)
        return int(self._server.sockets[0].getsockname()[1])

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
        for conn in list(self._open):
            conn.abort()
        if self._server is not None:
            await self._server.wait_closed()

    def command(self, name: str, body: dict[str, object]) -> dict[str, object]:
        """Carry out a control command (ValueError when malformed); returns the status."""
        if self.state.apply(name, body):
            for conn in list(self._open):
                conn.abort()
        if self.state.state == UP:
            self._up.set()
        else:
            self._up.clear()
        return self.status()

    def status(self) -> dict[str, object]:
        return self.state.status(len(self._open)).as_json()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if not self.state.admit(len(self._open)):
            writer.transport.abort()
            return
        conn = _Connection(writer)
        self._open.add(conn)
        try:
            held = await self._hold(reader)  # made while cut: held, unanswered
            if held is None or writer.is_closing():
                return  # its client gave up while the link was down
            up_reader, upstream = await asyncio.wait_for(
                asyncio.open_connection(*self.target), CONNECT_TIMEOUT_S
            )
            conn.upstream = upstream
            if held:
                upstream.write(held)
                await upstream.drain()
                self.state.count(True, len(held))
            await self._relay(conn, reader, up_reader)
        except (OSError, TimeoutError):
            pass
        finally:
            self._open.discard(conn)
            conn.abort()

    async def _hold(self, reader: asyncio.StreamReader) -> bytes | None:
        """Until the link is up: what the client sent meanwhile (sent on at heal), or None
        when it closed first."""
        held = bytearray()
        while not self._up.is_set():
            up: asyncio.Future[Any] = asyncio.ensure_future(self._up.wait())
            read: asyncio.Future[Any] = asyncio.ensure_future(reader.read(CHUNK))
            await asyncio.wait([up, read], return_when=asyncio.FIRST_COMPLETED)
            up.cancel()
            if not read.done():
                read.cancel()
            try:
                data = await read
            except asyncio.CancelledError:
                break  # the link is up and the client sent nothing more
            if not data:
                return None
            held += data
            if len(held) > CHUNK:
                return None  # more than a handshake: not a client waiting for its answer
        return bytes(held)

    async def _relay(
        self, conn: _Connection, reader: asyncio.StreamReader, up_reader: asyncio.StreamReader
    ) -> None:
        """Both directions until one ends; then the connection closes (no half-close)."""
        assert conn.upstream is not None
        tasks = [
            asyncio.create_task(self._pump(reader, conn.upstream, upward=True)),
            asyncio.create_task(self._pump(up_reader, conn.client, upward=False)),
        ]
        try:
            await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

    async def _pump(
        self, src: asyncio.StreamReader, dst: asyncio.StreamWriter, *, upward: bool
    ) -> None:
        """One direction: a reader stamps each chunk with when it may leave, the writer
        sends it then; neither moves while the link is cut."""
        line: asyncio.Queue[tuple[float, bytes | None]] = asyncio.Queue(QUEUE_CHUNKS)
        reading = asyncio.create_task(self._read(src, line))
        loop = asyncio.get_running_loop()
        try:
            while True:
                due, data = await line.get()
                await asyncio.sleep(max(0.0, due - loop.time()))
                await self._up.wait()
                if data is None:
                    raise ConnectionResetError("the other end went away")
                if not data:
                    return
                dst.write(data)
                await dst.drain()
                self.state.count(upward, len(data))
        finally:
            reading.cancel()
            await asyncio.gather(reading, return_exceptions=True)

    async def _read(
        self, src: asyncio.StreamReader, line: asyncio.Queue[tuple[float, bytes | None]]
    ) -> None:
        loop = asyncio.get_running_loop()
        while True:
            await self._up.wait()
            try:
                data: bytes | None = await src.read(CHUNK)
            except OSError:
                data = None
            await line.put((loop.time() + self.state.delay_s, data))
            if not data:
                return


def control_app(proxy: LinkProxy) -> web.Application:
    """``GET /status``, ``POST /cut|/heal|/delay`` with a JSON body (may be empty)."""

    async def status(_: web.Request) -> web.Response:
        return web.json_response(proxy.status())

    async def command(request: web.Request) -> web.Response:
        raw = await request.read()
        try:
            body = json.loads(raw) if raw.strip() else {}
            if not isinstance(body, dict):
                raise ValueError("the body must be a JSON object")
            result = proxy.command(request.match_info["name"], body)
        except ValueError as exc:
            return web.json_response({"error": str(exc)}, status=400)
        print(f"{request.match_info['name']} {body}: {result}", flush=True)
        return web.json_response(result)

    app = web.Application()
    app.router.add_get("/status", status)
    app.router.add_post("/{name}", command)
    return app


async def serve(listen: str, target: str, control: str, stop: asyncio.Event) -> None:
    """Run the link until ``stop`` is set."""
    proxy = LinkProxy(loopback_address(target))
    await proxy.start(*loopback_address(listen))
    runner = web.AppRunner(control_app(proxy), access_log=None, shutdown_timeout=1.0)
    await runner.setup()
    try:
        await web.TCPSite(runner, *loopback_address(control)).start()
        print(f"link {listen} -> {target}, control on {control}", flush=True)
        await stop.wait()
    finally:
        await runner.cleanup()
        await proxy.stop()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m cango_operator.devcluster.wanlink", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--listen", required=True, help="127.0.0.1:PORT the site connects to")
    parser.add_argument("--target", required=True, help="127.0.0.1:PORT of the hub")
    parser.add_argument("--control", required=True, help="127.0.0.1:PORT of the control API")
    parser.add_argument(
        "--label", default="", help="a name for the process list (whose link this is)"
    )
    args = parser.parse_args(argv)
    for value in (args.listen, args.target, args.control):
        try:
            loopback_address(value)
        except ValueError as exc:
            parser.error(str(exc))

    async def run() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        await serve(args.listen, args.target, args.control, stop)

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(run())
    return 0


if __name__ == "__main__":
    sys.exit(main())
