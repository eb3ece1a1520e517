"""Fake ASIC miners that speak LuxOS's API over TCP, for tests and the demo.

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

Only loopback addresses: :class:`FakeMinerFleet` puts miner *i* on ``127.x.y.z:4028``
(the library's default port) or on ``127.0.0.1`` with a port of its own.
"""

from __future__ import annotations

import asyncio
import ipaddress
import json
import secrets
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

LUXOS_PORT = 4028
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
    clock: Callable[[], float] = time.monotonic
    profile: str = ""
    asleep: bool = False
    atm_enabled: bool = True
    #: Every request, as (command, parameter): the tests read what the library sent.
    requests: list[tuple[str, str]] = field(default_factory=list)
    _session: _Session | None = None
    _from_w: float = 0.0
    _to_w: float = 0.0
    _since: float = 0.0

    def __post_init__(self) -> None:
        if not self.profile:
            self.profile = self.model.profiles[0].name
        self._to_w = self._from_w = self._profile(self.profile).watts
        self._since = self.clock()

    # -- the physics ----------------------------------------------------------------------

    def draw_w(self) -> float:
        """The true draw now, on its ramp (what a meter in front of it would read)."""
        if self.ramp_s <= 0:
            return self._to_w
        done = min(1.0, (self.clock() - self._since) / self.ramp_s)
        return self._from_w + (self._to_w - self._from_w) * done

    def _move_to(self, watts: float) -> None:
        self._from_w, self._to_w, self._since = self.draw_w(), watts, self.clock()

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


class FakeMinerFleet:
    """Many fake miners, started and stopped together.

    ``second_octet`` set: miner *i* listens on ``127.<second_octet>.y.z:4028``, the
    library's default port (a test picks an octet of its own so runs do not collide);
    unset: every miner on ``127.0.0.1`` with a free port.
    """

    def __init__(self, miners: Sequence[FakeLuxMiner], *, second_octet: int | None = None) -> None:
        if second_octet is None:
            self.servers = [FakeMinerServer(m) for m in miners]
        else:
            hosts = fleet_addresses(len(miners), second_octet)
            self.servers = [
                FakeMinerServer(m, h, LUXOS_PORT) for m, h in zip(miners, hosts, strict=True)
            ]

    @property
    def miners(self) -> list[FakeLuxMiner]:
        return [s.miner for s in self.servers]

    @property
    def addresses(self) -> list[str]:
        return [s.address for s in self.servers]

    def draw_w(self) -> float:
        """The fleet's true draw now: what the site meter sees of its miners."""
        return sum(m.draw_w() for m in self.miners)

    async def __aenter__(self) -> FakeMinerFleet:
        await asyncio.gather(*(s.start() for s in self.servers))
        return self

    async def __aexit__(self, *exc: object) -> None:
        await asyncio.gather(*(s.stop() for s in self.servers))


def mixed_fleet(
    count: int, models: Iterable[MinerModel] = (S19, S19J_PRO, S21), **kw: Any
) -> list[FakeLuxMiner]:
    """``count`` miners cycling through ``models`` (keyword arguments go to each miner)."""
    cycle = list(models)
    return [FakeLuxMiner(model=cycle[i % len(cycle)], **kw) for i in range(count)]
