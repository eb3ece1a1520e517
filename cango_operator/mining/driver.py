"""What the mining controller needs of one miner, whatever its firmware.

A driver reads the miner (its draw by its own figure, its profiles, the active one) and
acts on it (a power limit, sleep, wake). Every call is bounded by the driver's timeout
and fails with a :class:`MinerError` of a bounded kind; an action is confirmed by reading
the miner back, never taken on the firmware's word (some answer success and change
nothing). Retries are the controller's, not the driver's.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol, TypeVar

T = TypeVar("T")


class MinerErrorKind(StrEnum):
    """Why a call failed; bounded, so it can be a metric label and a condition reason."""

    TIMEOUT = "timeout"  # no answer within the driver's timeout (a silent or slow miner)
    UNREACHABLE = "unreachable"  # connection refused or reset, or an empty answer
    REFUSED = "refused"  # the miner answered with an error (access denied, bad session)
    UNCONFIRMED = "unconfirmed"  # it said yes, and reading it back says otherwise
    UNSUPPORTED = "unsupported"  # no profile at or under the limit, or no such command
    MALFORMED = "malformed"  # an answer without the fields the protocol promises


#: A miner drawing this much or less is asleep (its control board alone, fans stopped):
#: how every driver reads sleep when the firmware gives no state for it.
ASLEEP_MAX_W = 100.0
#: How long one call to a miner may take, unless its site says otherwise.
DEFAULT_TIMEOUT_S = 5.0

#: Kinds a second try may cure.
RETRYABLE = frozenset({MinerErrorKind.TIMEOUT, MinerErrorKind.UNREACHABLE})


class MinerError(Exception):
    def __init__(self, address: str, kind: MinerErrorKind, detail: str) -> None:
        super().__init__(f"miner {address}: {kind.value}: {detail}")
        self.address = address
        self.kind = kind
        self.detail = detail


@dataclass(frozen=True)
class MinerProfile:
    """A power profile of the miner's firmware: what it draws and hashes there."""

    name: str
    watts: float
    hashrate_ths: float

    @property
    def joules_per_th(self) -> float:
        return self.watts / self.hashrate_ths if self.hashrate_ths > 0 else float("inf")


@dataclass(frozen=True)
class MinerReading:
    address: str
    watts: float  # the miner's own figure, which can be 5-20 % off the meter
    profile: str  # the active profile's name ("": firmware without profiles)
    profiles: tuple[MinerProfile, ...]
    asleep: bool
    #: Its own hashrate figure, where the firmware gives one (LuxOS's reads None).
    hashrate_ths: float | None = None

    def active(self) -> MinerProfile | None:
        return next((p for p in self.profiles if p.name == self.profile), None)


class MinerDriver(Protocol):
    address: str

    async def read(self) -> MinerReading: ...

    async def set_power_limit(self, watts: float) -> MinerProfile:
        """Switch to the highest profile at or under ``watts``; returns it, confirmed."""
        ...

    async def sleep(self) -> None: ...

    async def wake(self) -> None: ...


async def bounded(address: str, what: str, timeout_s: float, call: Callable[[], Awaitable[T]]) -> T:
    """``call()`` within ``timeout_s``; a :class:`MinerError` of kind TIMEOUT past it (the
    libraries' own timeouts are far longer: a silent miner holds a call about 100 s)."""
    try:
        async with asyncio.timeout(timeout_s):
            return await call()
    except TimeoutError as exc:
        raise MinerError(
            address, MinerErrorKind.TIMEOUT, f"{what}: no answer in {timeout_s:g} s"
        ) from exc
