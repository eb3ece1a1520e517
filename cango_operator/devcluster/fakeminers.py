"""Fake ASIC miners that speak LuxOS's API over TCP, or ePIC's over HTTP, for tests and
the demo.

A miner's firmware is faked, not its client: the operator drives these with the real
library (pyasic), which sends what it sends to a real LuxOS miner, a cgminer-style JSON
request ``{"command": ..., "parameter": ...}`` on port 4028, one request per connection.
Each reply carries ``STATUS[0].STATUS`` ``S`` (success) or ``E`` (error, with ``Msg``).

The state model, per miner:

- **profiles** (name, watts, TH/s), one of them active; ``profileset`` switches;
- **sleep** (``curtail sleep``) draws :data:`SLEEP_W`; ``curtail wakeup`` mines again;
- **a ramp**: the draw moves linearly from where it was to the new level over
  ``ramp_s`` seconds (hash boards spin down and up; the meter sees the ramp);
- **one session at a time**: privileged commands (``profileset``, ``curtail``,
  ``atmset``, ``logoff``) need the id ``logon`` handed out; ``logon`` is refused while
  another session is live, and a session expires ``session_ttl_s`` after its last use;
- **the draw it reports** (``power``) is its true draw times ``report_bias``: a miner's
  own figure can be 5-20 % off, the site meter reads the true one (:meth:`FakeLuxMiner.draw_w`).

Faults (:class:`MinerFault`), settable at any time: ``SILENT`` (accepts the connection,
never answers), ``SLOW`` (answers after ``slow_s``), ``REFUSES`` (every privileged
command is an error), ``LIES`` (privileged commands answer success and change nothing).
A miner that is off altogether is a stopped server (:meth:`FakeMinerServer.stop`).

:class:`FakeEpicMiner` speaks ePIC's UMC API as the library sends it: ``GET /summary``
(its draw, ``Power Supply Stats.Input Power``, and each hash board's hashrate in MH/s),
``POST /miner`` with ``{"param": "Stop" | "Autostart", "password": ...}``: a wrong
password is answered 401, a refusal ``{"result": false, "error": ...}``. It has no power
profiles through this API: it mines or it is stopped. The same faults apply.

Only loopback addresses: :class:`FakeMinerFleet` puts miner *i* on ``127.x.y.z:4028``
(the library's default port) or on ``127.0.0.1`` with a port of its own.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import json
import secrets
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Generic, TypeVar

from cango_operator.mining.epic import EPIC_PORT
from cango_operator.mining.luxos import LUXOS_PORT

SLEEP_W = 15.0
DEFAULT_SESSION_TTL_S = 60.0
#: A request larger than this is not LuxOS's client: the connection is closed.
MAX_REQUEST_BYTES = 64 * 1024


class MinerFault(StrEnum):
    NONE = "none"
    SILENT = "silent"
    SLOW = "slow"
    REFUSES = "refuses"
    LIES = "lies"


@dataclass(frozen=True)
class FakeProfile:
    name: str
    watts: float
    hashrate_ths: float


@dataclass(frozen=True)
class MinerModel:
    """A miner model's profiles; the first is the one it boots into."""

    name: str
    profiles: tuple[FakeProfile, ...]


#: Three generations, so a fleet has efficient and inefficient machines (J/TH).
S19 = MinerModel(
    "Antminer S19",
    (
        FakeProfile("default", 3250, 95.0),
        FakeProfile("eco", 2600, 80.0),
        FakeProfile("low", 2000, 64.0),
    ),
)
S19J_PRO = MinerModel(
    "Antminer S19j Pro",
    (
        FakeProfile("default", 3050, 104.0),
        FakeProfile("eco", 2450, 88.0),
        FakeProfile("low", 1900, 72.0),
    ),
)
S21 = MinerModel(
    "Antminer S21",
    (
        FakeProfile("default", 3500, 200.0),
        FakeProfile("eco", 2800, 170.0),
        FakeProfile("low", 2200, 140.0),
    ),
)
PRIVILEGED = frozenset({"profileset", "curtail", "atmset", "logoff"})


@dataclass
class DrawRamp:
    """A draw that moves linearly to a new level over ``seconds`` (hash boards spinning
    down or up): what a meter in front of the miner reads."""

    watts: float
    seconds: float
    clock: Callable[[], float] = time.monotonic
    _from_w: float = 0.0
    _since: float = 0.0

    def __post_init__(self) -> None:
        self._from_w, self._since = self.watts, self.clock()

    def now_w(self) -> float:
        if self.seconds <= 0:
            return self.watts
        done = min(1.0, (self.clock() - self._since) / self.seconds)
        return self._from_w + (self.watts - self._from_w) * done

    def move_to(self, watts: float) -> None:
        self._from_w, self.watts, self._since = self.now_w(), watts, self.clock()


@dataclass
class _Session:
    id: str
    last_used: float


@dataclass
class FakeLuxMiner:
    """One miner's state; :meth:`handle` answers one request."""

    model: MinerModel = S19J_PRO
    ramp_s: float = 10.0
    session_ttl_s: float = DEFAULT_SESSION_TTL_S
    report_bias: float = 1.0
    fault: MinerFault = MinerFault.NONE
    slow_s: float = 5.0
    #: Every answer waits this long (a miner on a real network answers in tens of ms).
    latency_s: float = 0.0
    clock: Callable[[], float] = time.monotonic
    profile: str = ""
    asleep: bool = False
    atm_enabled: bool = True
    #: Every request, as (command, parameter): the tests read what the library sent.
    requests: list[tuple[str, str]] = field(default_factory=list)
    _session: _Session | None = None
    _ramp: DrawRamp | None = None

    def __post_init__(self) -> None:
        if not self.profile:
            self.profile = self.model.profiles[0].name
        self._ramp = DrawRamp(self._profile(self.profile).watts, self.ramp_s, self.clock)

    # -- the physics ----------------------------------------------------------------------

    def draw_w(self) -> float:
        """The true draw now, on its ramp (what a meter in front of it would read)."""
        assert self._ramp is not None
        return self._ramp.now_w()

    def _move_to(self, watts: float) -> None:
        assert self._ramp is not None
        self._ramp.seconds = self.ramp_s
        self._ramp.move_to(watts)

    def _profile(self, name: str) -> FakeProfile:
        return next(p for p in self.model.profiles if p.name == name)

    def target_w(self) -> float:
        return SLEEP_W if self.asleep else self._profile(self.profile).watts

    # -- the API --------------------------------------------------------------------------

    def handle(self, request: dict[str, Any]) -> dict[str, Any]:
        command = str(request.get("command") or "")
        parameter = str(request.get("parameter") or "")
        self.requests.append((command, parameter))
        if "+" in command:  # multicommand: each part's reply under its name
            return {part: [self._answer(part, "")] for part in command.split("+")}
        return self._answer(command, parameter)

    def _answer(self, command: str, parameter: str) -> dict[str, Any]:
        if command in PRIVILEGED:
            return self._privileged(command, parameter.split(","))
        handler = getattr(self, f"_cmd_{command}", None)
        if handler is None:
            return _error(14, f"Invalid command: {command}")
        reply: dict[str, Any] = handler()
        return reply

    def _privileged(self, command: str, args: list[str]) -> dict[str, Any]:
        token, rest = args[0], args[1:]
        now = self.clock()
        session = self._live_session(now)
        if session is None or token != session.id:
            return _error(401, "Invalid session id")
        session.last_used = now
        if self.fault is MinerFault.REFUSES:
            return _error(403, "Access denied")
        lies = self.fault is MinerFault.LIES
        if command == "logoff":
            self._session = None
            return _ok("Session closed", {"SESSION": [{"SessionID": ""}]})
        if command == "atmset":
            if not lies:
                for arg in rest:
                    if arg.startswith("enabled="):
                        self.atm_enabled = arg.split("=", 1)[1].lower() == "true"
            return _ok("ATM set", {"ATM": [{"Enabled": self.atm_enabled}]})
        if command == "profileset":
            name = rest[0] if rest else ""
            if name not in {p.name for p in self.model.profiles}:
                return _error(402, f"Invalid profile: {name}")
            if self.atm_enabled and not lies:
                return _error(404, "Disable ATM before setting a profile")
            if not lies:
                self.profile = name
                if not self.asleep:
                    self._move_to(self._profile(name).watts)
            return _ok("Profile set", {"PROFILE": [{"Profile": name}]})
        # curtail
        mode = rest[0] if rest else ""
        if mode not in {"sleep", "wakeup"}:
            return _error(405, f"Invalid curtail mode: {mode}")
        if not lies:
            self.asleep = mode == "sleep"
            self._move_to(self.target_w())
        return _ok(f"Curtail {mode}", {"CURTAIL": [{"Mode": mode}]})

    def _live_session(self, now: float) -> _Session | None:
        session = self._session
        if session is not None and now - session.last_used > self.session_ttl_s:
            self._session = session = None
        return session

    def _cmd_session(self) -> dict[str, Any]:
        session = self._live_session(self.clock())
        return _ok("Session", {"SESSION": [{"SessionID": session.id if session else ""}]})

    def _cmd_logon(self) -> dict[str, Any]:
        now = self.clock()
        if self._live_session(now) is not None:
            return _error(402, "Another session is active")
        self._session = _Session(secrets.token_hex(4), now)
        return _ok("Session created", {"SESSION": [{"SessionID": self._session.id}]})

    def _cmd_version(self) -> dict[str, Any]:
        version = {"LUXminer": "2024.10.15.0", "API": "3.7", "Type": self.model.name}
        return _ok("LUXminer versions", {"VERSION": [version]})

    def _cmd_power(self) -> dict[str, Any]:
        return _ok("Power", {"POWER": [{"Watts": round(self.draw_w() * self.report_bias)}]})

    def _cmd_config(self) -> dict[str, Any]:
        return _ok("Config", {"CONFIG": [{"Profile": self.profile}]})

    def _cmd_profiles(self) -> dict[str, Any]:
        rows = [
            {
                "Profile Name": p.name,
                "Watts": p.watts,
                "Hashrate": p.hashrate_ths,
                "IsTuned": True,
                "Frequency": 500,
                "Voltage": 13.0,
            }
            for p in self.model.profiles
        ]
        return _ok("Profiles", {"PROFILES": rows})

    def _cmd_atm(self) -> dict[str, Any]:
        return _ok("ATM", {"ATM": [{"Enabled": self.atm_enabled}]})

    def _cmd_summary(self) -> dict[str, Any]:
        ths = 0.0 if self.asleep else self._profile(self.profile).hashrate_ths
        return _ok("Summary", {"SUMMARY": [{"GHS 5s": ths * 1000.0, "Elapsed": 3600}]})


def _status(kind: str, code: int, msg: str) -> list[dict[str, Any]]:
    return [{"STATUS": kind, "When": int(time.time()), "Code": code, "Msg": msg}]


def _ok(msg: str, body: dict[str, Any]) -> dict[str, Any]:
    return {"STATUS": _status("S", 0, msg), **body, "id": 1}


def _error(code: int, msg: str) -> dict[str, Any]:
    return {"STATUS": _status("E", code, msg), "id": 1}


@dataclass
class FakeEpicMiner:
    """One ePIC miner's state; :meth:`handle` answers one HTTP request."""

    password: str
    watts: float = 3300.0
    hashrate_ths: float = 110.0
    ramp_s: float = 10.0
    report_bias: float = 1.0
    fault: MinerFault = MinerFault.NONE
    slow_s: float = 5.0
    clock: Callable[[], float] = time.monotonic
    asleep: bool = False
    #: Every request, as (method and path, param): the tests read what the library sent.
    requests: list[tuple[str, str]] = field(default_factory=list)
    _ramp: DrawRamp | None = None

    def __post_init__(self) -> None:
        self._ramp = DrawRamp(self.watts, self.ramp_s, self.clock)

    def draw_w(self) -> float:
        assert self._ramp is not None
        return self._ramp.now_w()

    def handle(self, method: str, path: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        """(HTTP status, JSON body) for one request."""
        param = body.get("param")
        self.requests.append((f"{method} {path}", str(param) if param is not None else ""))
        if method == "GET" and path == "/summary":
            return 200, self._summary()
        if method == "POST" and path == "/miner":
            if body.get("password") != self.password:
                return 401, {"result": False, "error": "Invalid password"}
            if self.fault is MinerFault.REFUSES:
                return 200, {"result": False, "error": "Access denied"}
            if param not in ("Stop", "Autostart"):
                return 200, {"result": False, "error": f"Invalid param: {param}"}
            if self.fault is not MinerFault.LIES:
                self.asleep = param == "Stop"
                assert self._ramp is not None
                self._ramp.seconds = self.ramp_s
                self._ramp.move_to(SLEEP_W if self.asleep else self.watts)
            return 200, {"success": True}
        return 404, {"result": False, "error": f"no such endpoint: {method} {path}"}

    def _summary(self) -> dict[str, Any]:
        boards = 0.0 if self.asleep else self.hashrate_ths * 1e6 / 3  # MH/s per board
        return {
            "Status": {"Operating State": "Idling" if self.asleep else "Mining"},
            "Power Supply Stats": {"Input Power": round(self.draw_w() * self.report_bias)},
            "HBs": [{"Index": i, "Hashrate": [boards, 100.0]} for i in range(3)],
        }


class FakeEpicServer:
    """One ePIC miner on one loopback address and port (HTTP)."""

    def __init__(self, miner: FakeEpicMiner, host: str = "127.0.0.1", port: int = 0) -> None:
        if not ipaddress.ip_address(host).is_loopback:
            raise ValueError(f"fake miners listen on loopback only, not {host}")
        self.miner = miner
        self.host = host
        self.port = port
        self._runner: Any = None
        self._stopping = asyncio.Event()

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"

    async def start(self) -> None:
        from aiohttp import web

        self._stopping = asyncio.Event()
        app = web.Application()
        app.router.add_route("*", "/{path:.*}", self._serve)
        self._runner = web.AppRunner(app, handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        await site.start()
        if self.port == 0:
            self.port = self._runner.addresses[0][1]

    async def stop(self) -> None:
        """The miner is off: connections are refused, requests held open are dropped."""
        self._stopping.set()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def _serve(self, request: Any) -> Any:
        from aiohttp import web

        if self.miner.fault in (MinerFault.SILENT, MinerFault.SLOW):
            wait = None if self.miner.fault is MinerFault.SILENT else self.miner.slow_s
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), wait)
            if self._stopping.is_set():
                raise web.HTTPServiceUnavailable()
        body: dict[str, Any] = {}
        if request.can_read_body:
            try:
                parsed = await request.json()
            except ValueError:
                return web.json_response({"result": False, "error": "bad JSON"}, status=400)
            body = parsed if isinstance(parsed, dict) else {}
        status, answer = self.miner.handle(request.method, request.path, body)
        return web.json_response(answer, status=status)


class FakeMinerServer:
    """One miner on one loopback address and port."""

    def __init__(self, miner: FakeLuxMiner, host: str = "127.0.0.1", port: int = 0) -> None:
        if not ipaddress.ip_address(host).is_loopback:
            raise ValueError(f"fake miners listen on loopback only, not {host}")
        self.miner = miner
        self.host = host
        self.port = port
        self._server: asyncio.Server | None = None
        self._handlers: set[asyncio.Task[None]] = set()

    @property
    def address(self) -> str:
        """``host:port``, as a Site lists a miner."""
        return f"{self.host}:{self.port}"

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._serve, self.host, self.port)
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        """The miner is off: connections are refused, those open are dropped."""
        if self._server is not None:
            self._server.close()
            for task in list(self._handlers):
                task.cancel()
            await asyncio.gather(*self._handlers, return_exceptions=True)
            await self._server.wait_closed()
            self._server = None

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._handlers.add(task)
            task.add_done_callback(self._handlers.discard)
        try:
            request = await _read_request(reader)
            if request is None:
                return
            if self.miner.fault is MinerFault.SILENT:
                await reader.read()  # until the client gives up
                return
            if self.miner.fault is MinerFault.SLOW:
                await asyncio.sleep(self.miner.slow_s)
            elif self.miner.latency_s > 0:
                await asyncio.sleep(self.miner.latency_s)
            writer.write(json.dumps(self.miner.handle(request)).encode() + b"\x00")
            await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        except asyncio.CancelledError:
            # stop(): end as a finished task; Python 3.11's stream protocol logs an error
            # for a handler task that ends cancelled.
            return
        finally:
            writer.close()  # not awaited: a handler cancelled by stop() must end at once


async def _read_request(reader: asyncio.StreamReader) -> dict[str, Any] | None:
    """One JSON object; the client sends it without a terminator and waits."""
    data = b""
    while len(data) < MAX_REQUEST_BYTES:
        chunk = await reader.read(4096)
        if not chunk:
            return None
        data += chunk
        try:
            parsed = json.loads(data)
        except ValueError:
            continue
        return parsed if isinstance(parsed, dict) else None
    return None


def fleet_addresses(count: int, second_octet: int) -> list[str]:
    """``count`` loopback addresses ``127.<second_octet>.y.z`` (z from 1 to 250)."""
    if not 0 < second_octet < 255:
        raise ValueError(f"second octet must be in 1..254, got {second_octet}")
    return [f"127.{second_octet}.{i // 250}.{i % 250 + 1}" for i in range(count)]


M = TypeVar("M", bound="FakeLuxMiner | FakeEpicMiner")


class FakeMinerFleet(Generic[M]):
    """Many fake miners, started and stopped together.

    ``second_octet`` set: miner *i* listens on ``127.<second_octet>.y.z:4028``, the
    library's default port (a test picks an octet of its own so runs do not collide);
    unset: every miner on ``127.0.0.1`` with a free port.
    """

    def __init__(
        self,
        miners: Sequence[M],
        *,
        second_octet: int | None = None,
    ) -> None:
        hosts: list[str | None] = (
            list(fleet_addresses(len(miners), second_octet))
            if second_octet is not None
            else [None] * len(miners)
        )
        self._miners = list(miners)
        self.servers = [_server_for(m, h) for m, h in zip(miners, hosts, strict=True)]

    @property
    def miners(self) -> list[M]:
        return list(self._miners)

    @property
    def addresses(self) -> list[str]:
        return [s.address for s in self.servers]

    def draw_w(self) -> float:
        """The fleet's true draw now: what the site meter sees of its miners."""
        return sum(m.draw_w() for m in self.miners)

    async def __aenter__(self) -> FakeMinerFleet[M]:
        await asyncio.gather(*(s.start() for s in self.servers))
        return self

    async def __aexit__(self, *exc: object) -> None:
        await asyncio.gather(*(s.stop() for s in self.servers))


def _server_for(
    miner: FakeLuxMiner | FakeEpicMiner, host: str | None
) -> FakeMinerServer | FakeEpicServer:
    """A server for ``miner``: on ``host`` at port 4028, or on 127.0.0.1 at a free port."""
    if isinstance(miner, FakeEpicMiner):
        return FakeEpicServer(miner, host, EPIC_PORT) if host else FakeEpicServer(miner)
    return FakeMinerServer(miner, host, LUXOS_PORT) if host else FakeMinerServer(miner)


def mixed_fleet(
    count: int, models: Iterable[MinerModel] = (S19, S19J_PRO, S21), **kw: Any
) -> list[FakeLuxMiner]:
    """``count`` miners cycling through ``models`` (keyword arguments go to each miner)."""
    cycle = list(models)
    return [FakeLuxMiner(model=cycle[i % len(cycle)], **kw) for i in range(count)]
