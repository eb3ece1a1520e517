"""Reading the operator's Prometheus metrics (its ``--metrics-port``) for the report."""

from __future__ import annotations

import aiohttp
from prometheus_client.parser import text_string_to_metric_families

METRIC_PREFIX = "cango_"
SKIPPED_SUFFIXES = ("_bucket", "_created")


def summarise_metrics(text: str, prefix: str = METRIC_PREFIX) -> dict[str, float]:
    """Each ``cango_*`` sample name with its value summed over label sets.

    Histogram buckets and ``_created`` timestamps are left out; ``_count`` and ``_sum``
    stay, so a mean is their quotient.
    """
    totals: dict[str, float] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if not sample.name.startswith(prefix) or sample.name.endswith(SKIPPED_SUFFIXES):
                continue
            totals[sample.name] = totals.get(sample.name, 0.0) + float(sample.value)
    return totals


async def scrape(url: str, timeout_s: float = 5.0) -> str:
    """The text of ``url`` (a ``/metrics`` endpoint on 127.0.0.1)."""
    timeout = aiohttp.ClientTimeout(total=timeout_s)
    async with aiohttp.ClientSession(timeout=timeout) as session, session.get(url) as response:
        response.raise_for_status()
        return await response.text()
