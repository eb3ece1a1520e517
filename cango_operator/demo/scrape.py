"""Reading the operator's Prometheus metrics (its ``--metrics-port``) for the report."""

from __future__ import annotations

import aiohttp
from prometheus_client.parser import text_string_to_metric_families

METRIC_PREFIX = "cango_"


def summarise_metrics(text: str, prefix: str = METRIC_PREFIX) -> dict[str, float]:
    """The ``cango_*`` metrics as one number each, where one number means something.

    Counters: the total over all label sets. Histograms and summaries: ``<name> count``
    and ``<name> mean``. Gauges: the value when there is one series; per-site gauges
    (many series) would only add up to nonsense, so they are left out.
    """
    out: dict[str, float] = {}
    for family in text_string_to_metric_families(text):
        if not family.name.startswith(prefix) or family.name.endswith("_created"):
            continue  # (a ``_created`` timestamp can parse as a family of its own)
        if family.type == "counter":
            totals = [s.value for s in family.samples if s.name.endswith("_total")]
            out[f"{family.name}_total"] = float(sum(totals))
        elif family.type in ("histogram", "summary"):
            count = sum(s.value for s in family.samples if s.name.endswith("_count"))
            total = sum(s.value for s in family.samples if s.name.endswith("_sum"))
            out[f"{family.name} count"] = float(count)
            if count:
                out[f"{family.name} mean"] = float(total / count)
        elif family.type == "gauge" and len(family.samples) == 1:
            out[family.name] = float(family.samples[0].value)
    return out


async def scrape(url: str, timeout_s: float = 5.0) -> str:
    """The text of ``url`` (a ``/metrics`` endpoint on 127.0.0.1)."""
    timeout = aiohttp.ClientTimeout(total=timeout_s)
    async with aiohttp.ClientSession(timeout=timeout) as session, session.get(url) as response:
        response.raise_for_status()
        return await response.text()
