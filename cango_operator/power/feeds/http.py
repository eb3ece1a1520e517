"""The ``http`` feed: a JSON document from the site's meter or energy-management system.

``jsonPath`` points at the load in kW (absent: the whole body is the number);
``capacityPath``, ``curtailedPath``, ``pricePath`` and ``timestampPath`` are optional.
A broken price only drops the price (the site stays placeable at the spec's price);
anything else wrong fails the whole sample.
"""

from __future__ import annotations

from typing import Any

from cango_operator.power.feeds.base import FeedSample, make_sample, price_or_problem
from cango_operator.power.feeds.config import HttpFeedConfig
from cango_operator.power.feeds.httpget import HttpBasedFeed, get_json
from cango_operator.power.feeds.values import as_flag, as_number, as_timestamp, lookup


class HttpFeed(HttpBasedFeed[HttpFeedConfig]):
    @property
    def description(self) -> str:
        return f"http feed {self.config.url}"

    async def read(self) -> FeedSample:
        source = self.description
        headers = await self.headers()
        _, document = await get_json(self.session, self.config.url, source=source, headers=headers)
        cfg = self.config
        if cfg.load_path is None:
            load = as_number(document, "the body", source)
        else:
            load = as_number(lookup(document, cfg.load_path, source), cfg.load_path, source)
        capacity = self._optional_number(document, cfg.capacity_path)
        curtailed = None
        if cfg.curtailed_path is not None:
            raw = lookup(document, cfg.curtailed_path, source)
            curtailed = as_flag(raw, cfg.curtailed_path, source)
        timestamp = self.clock()
        if cfg.timestamp_path is not None:
            raw = lookup(document, cfg.timestamp_path, source)
            timestamp = as_timestamp(raw, cfg.timestamp_path, source)
        price, price_problem = price_or_problem(
            lambda: self._optional_number(document, cfg.price_path)
        )
        return make_sample(
            timestamp,
            self.scope,
            load,
            capacity_kw=capacity,
            curtailed=curtailed,
            price_usd_per_mwh=price,
            price_problem=price_problem,
        )

    def _optional_number(self, document: Any, path: str | None) -> float | None:
        if path is None:
            return None
        return as_number(lookup(document, path, self.description), path, self.description)
