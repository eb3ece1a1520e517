"""Real servers on 127.0.0.1 that the power tests drive: an HTTP meter, a Prometheus-API
look-alike for the adapter's error paths, and a Modbus TCP device (pymodbus).

Each holds its behaviour in plain attributes a test changes between polls, so a fault is
"set an attribute" and recovery is "set it back".
"""

from __future__ import annotations

import asyncio
import json
import socket
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from aiohttp import web
from pymodbus.constants import ExcCodes
from pymodbus.server import ModbusTcpServer
from pymodbus.simulator import DataType, SimData, SimDevice


def free_port() -> int:
    """A port nothing listens on right now (the OS picks it)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class _AiohttpServer:
    """An aiohttp app on a loopback port (free at first start, the same after a restart)."""

    def __init__(self, app: web.Application) -> None:
        self._app = app
        self._runner: web.AppRunner | None = None
        self.port = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self) -> None:
        self._runner = web.AppRunner(self._app, access_log=None, shutdown_timeout=0.1)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", self.port)
        await site.start()
        self.port = int(self._runner.addresses[0][1])

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None


@dataclass
class MeterState:
    """What the HTTP meter answers; ``body`` (raw bytes) wins over ``document``.
    With ``time_offset_seconds`` set, the document gets a ``time`` (now + offset)."""

    document: Any = field(
        default_factory=lambda: {"site": {"load_kw": 12000.0, "capacity_kw": 20000.0}}
    )
    status: int = 200
    body: bytes | None = None
    delay_seconds: float = 0.0
    required_authorization: str | None = None
    time_offset_seconds: float | None = None
    fail_next_requests: int = 0  # answer 503 to this many requests, then recover
    requests: int = 0
    last_authorization: str | None = None


class MeterServer(_AiohttpServer):
    """``GET /power``: the site meter's JSON document."""

    def __init__(self) -> None:
        self.state = MeterState()
        app = web.Application()
        app.router.add_get("/power", self._power)
        super().__init__(app)

    @property
    def power_url(self) -> str:
        return f"{self.url}/power"

    async def _power(self, request: web.Request) -> web.Response:
        state = self.state
        state.requests += 1
        state.last_authorization = request.headers.get("Authorization")
        if state.delay_seconds:
            await asyncio.sleep(state.delay_seconds)
        if state.fail_next_requests > 0:
            state.fail_next_requests -= 1
            return web.Response(status=503, text="busy")
        if (
            state.required_authorization is not None
            and state.last_authorization != state.required_authorization
        ):
            return web.Response(status=401, text="unauthorized")
        document = state.document
        if state.time_offset_seconds is not None:
            moment = datetime.now(UTC) + timedelta(seconds=state.time_offset_seconds)
            document = {**document, "time": moment.isoformat()}
        body = state.body if state.body is not None else json.dumps(document).encode()
        return web.Response(status=state.status, body=body, content_type="application/json")


@dataclass
class PromApiState:
    """Answers of the look-alike by query text; a missing query gets an empty vector."""

    results: dict[str, Any] = field(default_factory=dict)
    status: int = 200
    error: str | None = None


class PromApiServer(_AiohttpServer):
    """``GET /api/v1/query`` shaped like Prometheus' HTTP API (for adapter error paths;
    the integration test uses the real Prometheus)."""

    def __init__(self) -> None:
        self.state = PromApiState()
        app = web.Application()
        app.router.add_get("/api/v1/query", self._query)
        super().__init__(app)

    def set_vector(self, query: str, *values: str, at: float = 0.0) -> None:
        """``query`` answers one series per value (``"NaN"``, ``"12.5"``, ...)."""
        import time

        moment = at or time.time()
        self.state.results[query] = {
            "resultType": "vector",
            "result": [
                {"metric": {"meter": str(i)}, "value": [moment, v]} for i, v in enumerate(values)
            ],
        }

    async def _query(self, request: web.Request) -> web.Response:
        state = self.state
        if state.error is not None:
            payload: dict[str, Any] = {
                "status": "error",
                "errorType": "bad_data",
                "error": state.error,
            }
            return web.json_response(payload, status=state.status)
        query = request.query.get("query", "")
        data = state.results.get(query, {"resultType": "vector", "result": []})
        return web.json_response({"status": "success", "data": data}, status=state.status)


HOLDING_BASE = 100
INPUT_BASE = 0
BLOCK_SIZE = 20


@dataclass
class ModbusState:
    """Register values by address; a set ``exception`` or ``delay_seconds`` applies to reads."""

    holding: dict[int, int] = field(default_factory=dict)
    input: dict[int, int] = field(default_factory=dict)
    exception: ExcCodes | None = None
    delay_seconds: float = 0.0
    reads: int = 0


class ModbusDevice:
    """A Modbus TCP device on a free loopback port: holding registers 100..119 and input
    registers 0..19 of unit 1; other addresses answer 'illegal data address'."""

    UNIT_ID = 1

    def __init__(self) -> None:
        self.state = ModbusState()
        self.port = free_port()
        self._server: ModbusTcpServer | None = None

    async def start(self) -> None:
        blocks = (
            [SimData(0, count=16, values=False, datatype=DataType.BITS)],
            [SimData(0, count=16, values=False, datatype=DataType.BITS)],
            [SimData(HOLDING_BASE, count=BLOCK_SIZE, values=0, datatype=DataType.REGISTERS)],
            [SimData(INPUT_BASE, count=BLOCK_SIZE, values=0, datatype=DataType.REGISTERS)],
        )
        device = SimDevice(self.UNIT_ID, simdata=blocks, action=self._action)
        self._server = ModbusTcpServer(device, address=("127.0.0.1", self.port))
        await self._server.serve_forever(background=True)

    async def stop(self) -> None:
        if self._server is not None:
            await self._server.shutdown()  # type: ignore[no-untyped-call]
            self._server = None

    async def _action(
        self,
        function_code: int,
        start_address: int,
        _address: int,
        _count: int,
        registers: list[int],
        _set_values: list[int] | list[bool] | None,
    ) -> ExcCodes | None:
        state = self.state
        state.reads += 1
        values = state.holding if function_code == 3 else state.input
        for address, value in values.items():
            if 0 <= address - start_address < len(registers):
                registers[address - start_address] = value
        if state.delay_seconds:
            await asyncio.sleep(state.delay_seconds)
        return state.exception


def registers_for(value: float, data_type: str) -> list[int]:
    """The register words of ``value`` as a device stores it (big-endian words)."""
    from pymodbus.client import AsyncModbusTcpClient

    kind = AsyncModbusTcpClient.DATATYPE[data_type.upper()]
    number: int | float = value if data_type == "float32" else int(value)
    return list(AsyncModbusTcpClient.convert_to_registers(number, kind))


def store(registers: dict[int, int], address: int, value: float, data_type: str) -> None:
    for offset, word in enumerate(registers_for(value, data_type)):
        registers[address + offset] = word
