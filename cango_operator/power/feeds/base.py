"""What every feed adapter shares: the sample it returns and the faults it raises.

A feed adapter turns one source (an HTTP JSON document, a Prometheus query, Modbus
registers, the spec itself) into a :class:`FeedSample`. It never guesses: anything it
cannot read as a number where a number is expected raises :class:`FeedReadError` with a
:class:`FeedErrorKind`, so the site model can say which feed failed and why.

A broken *price* does not fail the sample: the price is optional and the spec's static
price stands in, so adapters put the problem in ``FeedSample.price_problem`` instead.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum
from typing import Protocol

from cango_operator.api import LoadScope
from cango_operator.errors import FeedError


class FeedErrorKind(StrEnum):
    """Why a feed gave nothing usable; bounded, so it can be a metric label."""

    TIMEOUT = "timeout"
    CONNECTION = "connection"
    HTTP_STATUS = "http_status"
    MALFORMED = "malformed"
    MISSING_VALUE = "missing_value"
    WRONG_TYPE = "wrong_type"
    NAN = "nan"
    NEGATIVE = "negative"
    ABSURD = "absurd"
    STALE = "stale"
    MODBUS_EXCEPTION = "modbus_exception"
    CREDENTIALS = "credentials"
    INTERNAL = "internal"

    @property
    def reason(self) -> str:
        """The CamelCase condition reason for this kind, e.g. ``FeedHttpStatus``."""
        return "Feed" + "".join(part.capitalize() for part in self.value.split("_"))


RETRYABLE_KINDS = frozenset(
    {
        FeedErrorKind.TIMEOUT,
        FeedErrorKind.CONNECTION,
        FeedErrorKind.HTTP_STATUS,
        FeedErrorKind.MODBUS_EXCEPTION,
    }
)
"""Kinds a second try a moment later may cure; nonsense values are not retried."""


@dataclass(frozen=True)
class FeedProblem:
    """A fault as data: what kind, and a message naming the source and the cause."""

    kind: FeedErrorKind
    message: str


class FeedReadError(FeedError):
    """A feed read failed; ``problem`` says how, in words safe to log (no credentials)."""

    def __init__(self, kind: FeedErrorKind, message: str) -> None:
        super().__init__(message)
        self.problem = FeedProblem(kind, message)

    @property
    def kind(self) -> FeedErrorKind:
        return self.problem.kind


@dataclass(frozen=True)
class FeedSample:
    """One reading of a site's power source.

    ``timestamp`` is when the source measured (its own timestamp when it gives one,
    else the time of the read). Load is either the whole site as the grid meter sees it
    (``total_load_kw``, GPU nodes included) or the mining load alone (``mining_load_kw``);
    a value left ``None`` means the source does not provide it and the spec's value applies.
    """

    timestamp: datetime
    total_load_kw: float | None = None
    mining_load_kw: float | None = None
    capacity_kw: float | None = None
    curtailed: bool | None = None
    price_usd_per_mwh: float | None = None
    price_problem: FeedProblem | None = None

    def without_price(self, problem: FeedProblem) -> FeedSample:
        """This sample with its price dropped because of ``problem``."""
        return replace(self, price_usd_per_mwh=None, price_problem=problem)


def make_sample(
    timestamp: datetime,
    scope: LoadScope,
    load_kw: float,
    *,
    capacity_kw: float | None = None,
    curtailed: bool | None = None,
    price_usd_per_mwh: float | None = None,
    price_problem: FeedProblem | None = None,
) -> FeedSample:
    """A sample whose load lands in the field the feed's ``loadScope`` says it covers."""
    return FeedSample(
        timestamp=timestamp,
        total_load_kw=load_kw if scope is LoadScope.SITE else None,
        mining_load_kw=load_kw if scope is LoadScope.MINING else None,
        capacity_kw=capacity_kw,
        curtailed=curtailed,
        price_usd_per_mwh=price_usd_per_mwh,
        price_problem=price_problem,
    )


def price_or_problem(
    read: Callable[[], float | None],
) -> tuple[float | None, FeedProblem | None]:
    """The price ``read`` gives, or why there is none: a broken price only drops the price
    (the site stays placeable at the spec's price), it never fails the whole sample."""
    try:
        return read(), None
    except FeedReadError as fault:
        return None, fault.problem


class FeedReader(Protocol):
    """One site's power source. ``read`` returns a sample or raises :class:`FeedReadError`."""

    @property
    def description(self) -> str:
        """Names the feed in messages, e.g. ``http http://meter/power`` (never a secret)."""
        ...

    async def read(self) -> FeedSample: ...


SecretResolver = Callable[[str, str | None], Awaitable[Mapping[str, str]]]
"""``(name, namespace)`` -> the Secret's decoded data; namespace ``None`` means the
operator's own namespace (Sites are cluster-scoped)."""
