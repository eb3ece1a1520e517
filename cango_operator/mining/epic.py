"""ePIC (UMC firmware) miners through pyasic's web client: HTTP JSON on port 4028.

Reads ``GET /summary`` (the draw, ``Power Supply Stats.Input Power``; the hash boards'
hashrates in MH/s); acts with ``POST /miner`` (``Stop``, ``Autostart``), the password in
the body. pyasic's default for that password is the factory one; this driver has none:
the Site names a Secret (``credentialsSecretRef``) and the controller passes its
``password``. Through this API the firmware has no power profiles the operator can set:
such miners are slept and woken only (the ramp planner never lowers them), ranked by the
J/TH their own figures give while mining.

Every call is bounded by ``timeout_s``; a stop or start is confirmed by the answer's
``success`` and then, as for LuxOS, by the draw the controller reads after the ramp.
"""

from __future__ import annotations

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

EPIC_PORT = 4028
#: MH/s in a TH/s.
_MH_PER_TH = 1e6


class EpicDriver:
    """One ePIC miner (:class:`~cango_operator.mining.driver.MinerDriver`)."""

    def __init__(
        self, address: str, password: str, *, timeout_s: float = DEFAULT_TIMEOUT_S
    ) -> None:
        if not password:
            raise ValueError(f"miner {address}: ePIC needs a password (credentialsSecretRef)")
        host, port = parse_miner_address(address)
        self.address = address
        self.timeout_s = timeout_s
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            from pyasic.web.epic import ePICWebAPI
        self._web = ePICWebAPI(host)
        self._web.port = port or EPIC_PORT
        self._web.pwd = password

    async def read(self) -> MinerReading:
        summary = await self._call("summary", self._web.summary)
        try:
            watts = float(summary["Power Supply Stats"]["Input Power"])
            boards = summary.get("HBs") or []
            hashrate = sum(float(b["Hashrate"][0]) for b in boards) / _MH_PER_TH
        except (KeyError, TypeError, ValueError, IndexError) as exc:
            raise MinerError(self.address, MinerErrorKind.MALFORMED, f"summary: {exc!r}") from exc
        return MinerReading(self.address, watts, "", (), watts <= ASLEEP_MAX_W, hashrate)

    async def set_power_limit(self, watts: float) -> MinerProfile:
        raise MinerError(
            self.address,
            MinerErrorKind.UNSUPPORTED,
            "ePIC exposes no power profile here: sleep and wake only",
        )

    async def sleep(self) -> None:
        await self._act("miner Stop", self._web.stop_mining)

    async def wake(self) -> None:
        await self._act("miner Autostart", self._web.start_mining)

    async def _act(self, what: str, call: Callable[[], Awaitable[dict[str, Any]]]) -> None:
        reply = await self._call(what, call)
        if reply.get("success") is not True:
            error = reply.get("error") or "no success in the answer"
            raise MinerError(self.address, MinerErrorKind.REFUSED, f"{what}: {error}")

    async def _call(self, what: str, call: Callable[[], Awaitable[Any]]) -> Mapping[str, Any]:
        from pyasic.errors import APIError

        try:
            reply = await bounded(self.address, what, self.timeout_s, call)
        except APIError as exc:
            text = str(exc)
            kind = MinerErrorKind.REFUSED if "status code" in text else MinerErrorKind.UNREACHABLE
            raise MinerError(self.address, kind, f"{what}: {text}") from exc
        if not isinstance(reply, Mapping):
            raise MinerError(self.address, MinerErrorKind.MALFORMED, f"{what}: not a JSON object")
        return reply
