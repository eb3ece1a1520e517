"""LuxOS miners through pyasic's RPC client (cgminer-style JSON over TCP 4028).

Why pyasic: it is asyncio, Apache-2.0, and drives LuxOS, Braiins OS+, VNish, Whatsminer
and stock Antminer behind one package; its successor ``asic-rs`` cannot set a LuxOS power
limit nor change ports (checked in pyasic-rs 0.8.6). Only pyasic's RPC layer is used
(request encoding, reply parsing, the session handshake), with a transport that closes
its socket on a timeout (:func:`_rpc_class`): its miner classes swallow errors into
``False``, have no call timeout (a silent miner holds a call about 100 s) and re-enable
ATM after a profile change. What this driver adds:

- every call bounded by ``timeout_s``;
- the session: LuxOS allows one at a time and expires it after about 60 s idle, while
  pyasic keeps the id it once got; a privileged call refused for its session drops the
  id and logs on again, once;
- a profile change is confirmed by reading the active profile back; ATM (LuxOS's thermal
  autotuner, which moves profiles on its own) is switched off first and left off while
  the operator holds a power target;
- sleep shows in the reading only through the draw (pyasic reads no curtailment state
  from LuxOS): a miner drawing at most :data:`ASLEEP_MAX_W` is asleep. The controller
  checks that a miner it put to sleep got there after its ramp.

Addresses are ``IP`` or ``IP:port`` (default port 4028).
"""

from __future__ import annotations

import asyncio
import functools
import warnings
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from cango_operator.api import parse_miner_address
from cango_operator.mining.driver import (
    ASLEEP_MAX_W,
    DEFAULT_TIMEOUT_S,
    MinerError,
    MinerErrorKind,
    MinerProfile,
    MinerReading,
    bounded,
)

LUXOS_PORT = 4028


class LuxosDriver:
    """One LuxOS miner (:class:`~cango_operator.mining.driver.MinerDriver`)."""

    def __init__(self, address: str, *, timeout_s: float = DEFAULT_TIMEOUT_S) -> None:
        host, port = parse_miner_address(address)
        self.address = address
        self.timeout_s = timeout_s
        self._rpc = _rpc_class()(host, port=port or LUXOS_PORT)
        self._profiles: tuple[MinerProfile, ...] = ()

    # -- reading ----------------------------------------------------------------------

    async def read(self) -> MinerReading:
        wanted = ("power", "config") if self._profiles else ("power", "config", "profiles")
        reply = await self._call("read", lambda: self._rpc.multicommand(*wanted))
        power = _first(reply, "power", "POWER", self.address)
        config = _first(reply, "config", "CONFIG", self.address)
        if not self._profiles:
            self._profiles = self._parse_profiles(reply)
        try:
            watts = float(power["Watts"])
            profile = str(config["Profile"])
        except (KeyError, TypeError, ValueError) as exc:
            raise MinerError(self.address, MinerErrorKind.MALFORMED, f"read: {exc!r}") from exc
        return MinerReading(self.address, watts, profile, self._profiles, watts <= ASLEEP_MAX_W)

    def _parse_profiles(self, reply: Mapping[str, Any]) -> tuple[MinerProfile, ...]:
        section = reply.get("profiles")
        rows = section[0].get("PROFILES") if isinstance(section, list) and section else None
        if not rows:
            raise MinerError(self.address, MinerErrorKind.MALFORMED, "read: no profiles")
        try:
            return tuple(
                MinerProfile(str(r["Profile Name"]), float(r["Watts"]), float(r["Hashrate"]))
                for r in rows
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise MinerError(self.address, MinerErrorKind.MALFORMED, f"profiles: {exc!r}") from exc

    # -- acting -----------------------------------------------------------------------

    async def set_power_limit(self, watts: float) -> MinerProfile:
        reading = await self.read()
        fits = [p for p in reading.profiles if p.watts <= watts]
        if not fits:
            lowest = min(p.watts for p in reading.profiles)
            raise MinerError(
                self.address,
                MinerErrorKind.UNSUPPORTED,
                f"no profile at or under {watts:.0f} W (the lowest draws {lowest:.0f} W)",
            )
        best = max(fits, key=lambda p: p.watts)
        if best.name == reading.profile:
            return best
        atm = await self._call("atm", self._rpc.atm)
        if _first(atm, None, "ATM", self.address).get("Enabled"):
            await self._privileged("atmset", lambda: self._rpc.atmset(enabled=False))
        await self._privileged("profileset", lambda: self._rpc.profileset(best.name))
        after = await self._call("config", self._rpc.config)
        now = _first(after, None, "CONFIG", self.address).get("Profile")
        if now != best.name:
            raise MinerError(
                self.address,
                MinerErrorKind.UNCONFIRMED,
                f"profileset {best.name} answered success, the miner runs {now}",
            )
        return best

    async def sleep(self) -> None:
        await self._privileged("curtail sleep", self._rpc.sleep)

    async def wake(self) -> None:
        await self._privileged("curtail wakeup", self._rpc.wakeup)

    # -- calls ------------------------------------------------------------------------

    async def _privileged(self, what: str, call: Callable[[], Awaitable[dict[str, Any]]]) -> None:
        """A call that needs the session; a refusal for the session renews it, once."""
        from pyasic.errors import APIError

        for attempt in range(2):
            if self._rpc.session_token is None:
                token = await self._call("logon", self._rpc.auth)
                if token is None:
                    raise MinerError(
                        self.address,
                        MinerErrorKind.REFUSED,
                        f"{what}: no session (another client holds the miner's only one)",
                    )
            try:
                await self._call(what, call, raise_api_errors=True)
                return
            except APIError as exc:
                if attempt == 0 and "session" in str(exc).lower():
                    self._rpc.session_token = None
                    continue
                raise MinerError(self.address, MinerErrorKind.REFUSED, f"{what}: {exc}") from exc

    async def _call(
        self, what: str, call: Callable[[], Awaitable[Any]], *, raise_api_errors: bool = False
    ) -> Any:
        from pyasic.errors import APIError

        try:
            reply = await bounded(self.address, what, self.timeout_s, call)
        except APIError as exc:
            if raise_api_errors:
                raise
            raise MinerError(self.address, MinerErrorKind.REFUSED, f"{what}: {exc}") from exc
        except OSError as exc:
            raise MinerError(self.address, MinerErrorKind.UNREACHABLE, f"{what}: {exc}") from exc
        if reply is None or (isinstance(reply, dict) and not _has_data(reply)):
            raise MinerError(
                self.address, MinerErrorKind.UNREACHABLE, f"{what}: no answer (refused or closed)"
            )
        return reply


@functools.cache
def _rpc_class() -> Any:
    """pyasic's LuxOS client with one change: its transport. pyasic leaves the socket
    open when a call times out or is cancelled (it never closes the writer then), so a
    silent miner would leak one socket per try; this one always closes it, and lets a
    refused connection raise instead of reading as an empty answer. Requests, replies,
    the session and the commands stay pyasic's.

    Imported on first use (the package is large), with the deprecation warnings its
    pydantic models raise on import kept out of the logs."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        from pyasic.rpc.luxminer import LUXMinerRPCAPI

    class ClosingLuxRPC(LUXMinerRPCAPI):  # type: ignore[misc]
        async def _send_bytes(
            self, data: bytes, *, port: int | None = None, timeout: int = 100
        ) -> bytes:
            reader, writer = await asyncio.open_connection(str(self.ip), port or self.port)
            try:
                writer.write(data)
                await writer.drain()
                async with asyncio.timeout(timeout):
                    return await reader.read()
            finally:
                writer.close()

    return ClosingLuxRPC


def _has_data(reply: Mapping[str, Any]) -> bool:
    return any(key not in {"multicommand", "id"} and value for key, value in reply.items())


def _first(
    reply: Mapping[str, Any], section: str | None, key: str, address: str
) -> Mapping[str, Any]:
    """``reply[section][0][key][0]`` of a multicommand, ``reply[key][0]`` of one command."""
    body: Any = reply
    if section is not None:
        part = reply.get(section)
        body = part[0] if isinstance(part, list) and part else None
    rows = body.get(key) if isinstance(body, Mapping) else None
    if not isinstance(rows, list) or not rows or not isinstance(rows[0], Mapping):
        raise MinerError(address, MinerErrorKind.MALFORMED, f"no {key} in the answer")
    row: Mapping[str, Any] = rows[0]
    return row
