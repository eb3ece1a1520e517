"""One poll of a feed: each attempt bounded by a timeout, retried with exponential backoff.

Only faults a second try may cure (timeouts, refused connections, HTTP and Modbus
errors) are retried; a NaN or a missing path will not heal in 50 ms. The backoff starts
at a tenth of the poll interval (at most 1 s), doubles on each try, and is jittered so
sites sharing a meter gateway do not retry in lockstep.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable

from cango_operator.power.feeds.base import (
    RETRYABLE_KINDS,
    FeedErrorKind,
    FeedReader,
    FeedReadError,
    FeedSample,
)
from cango_operator.power.feeds.config import FeedTiming

MAX_FIRST_BACKOFF_SECONDS = 1.0

Sleep = Callable[[float], Awaitable[None]]


def backoff_seconds(attempt: int, timing: FeedTiming, rng: random.Random) -> float:
    """Delay before retry number ``attempt + 1`` (``attempt`` counts from 0)."""
    first = min(MAX_FIRST_BACKOFF_SECONDS, timing.interval_seconds / 10)
    return first * (2.0**attempt) * rng.uniform(0.5, 1.5)


async def read_with_retries(
    feed: FeedReader,
    timing: FeedTiming,
    *,
    rng: random.Random,
    sleep: Sleep = asyncio.sleep,
) -> FeedSample:
    """A sample from ``feed``, or the last attempt's :class:`FeedReadError`."""
    attempts = timing.retries + 1
    for attempt in range(attempts):
        try:
            async with asyncio.timeout(timing.timeout_seconds):
                return await feed.read()
        except TimeoutError:
            fault = FeedReadError(
                FeedErrorKind.TIMEOUT,
                f"{feed.description}: no answer within {timing.timeout_seconds:g} s",
            )
        except FeedReadError as raised:
            fault = raised
        if fault.kind not in RETRYABLE_KINDS or attempt == attempts - 1:
            if attempt > 0:
                fault = FeedReadError(
                    fault.kind, f"{fault.problem.message} (after {attempt + 1} tries)"
                )
            raise fault
        await sleep(backoff_seconds(attempt, timing, rng))
    raise AssertionError("unreachable: the loop returns or raises")
