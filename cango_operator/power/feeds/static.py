"""The ``static`` feed: no live source; the spec's own values apply and never go stale."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from cango_operator.power.feeds.base import FeedSample


class StaticFeed:
    def __init__(self, clock: Callable[[], datetime]) -> None:
        self.clock = clock

    @property
    def description(self) -> str:
        return "static feed (spec values)"

    async def read(self) -> FeedSample:
        return FeedSample(timestamp=self.clock())
