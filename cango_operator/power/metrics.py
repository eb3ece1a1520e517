"""Prometheus metrics of site power and feeds (``cango_site_*``, ``cango_feed_*``).

Labels stay bounded: ``site`` (one per Site), ``feed_type`` (four values), ``kind``
(the :class:`FeedErrorKind` values) and ``phase`` (five values). Pass a fresh
``CollectorRegistry`` to keep tests apart; the operator uses the default registry.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from datetime import datetime

from prometheus_client import REGISTRY, CollectorRegistry, Counter, Gauge, Histogram

from cango_operator.api import SitePhase
from cango_operator.power.feeds.base import FeedErrorKind
from cango_operator.power.model import SitePowerState


class PowerMetrics:
    def __init__(self, registry: CollectorRegistry = REGISTRY) -> None:
        def gauge(name: str, doc: str, labels: tuple[str, ...] = ("site",)) -> Gauge:
            return Gauge(name, doc, labels, registry=registry)

        self.capacity = gauge("cango_site_power_capacity_kw", "Site power capacity now, kW.")
        self.other_load = gauge(
            "cango_site_power_other_load_kw", "Site load other than GPU nodes (mining), kW."
        )
        self.gpu_draw = gauge("cango_site_power_gpu_draw_kw", "GPU node draw times PUE, kW.")
        self.committed = gauge(
            "cango_site_power_committed_kw", "Power promised to placed replicas times PUE, kW."
        )
        self.available = gauge(
            "cango_site_power_available_kw", "Power a new placement may still use, kW."
        )
        self.gpu_excess = gauge(
            "cango_site_power_gpu_excess_kw", "GPU power that does not fit the budget, kW."
        )
        self.mining_target = gauge(
            "cango_site_mining_target_kw", "Recommended mining load so GPU work fits, kW."
        )
        self.phase = gauge(
            "cango_site_phase", "1 for the site's current phase, else 0.", ("site", "phase")
        )
        self.feed_healthy = gauge(
            "cango_feed_healthy", "1 when the site's feed is healthy.", ("site", "feed_type")
        )
        self.feed_age = gauge(
            "cango_feed_age_seconds",
            "Age of the site's last good feed sample, seconds.",
            ("site", "feed_type"),
        )
        self.feed_errors = Counter(
            "cango_feed_errors_total",
            "Failed feed polls, by kind of failure.",
            ("site", "feed_type", "kind"),
            registry=registry,
        )
        self.feed_reads = Counter(
            "cango_feed_reads_total",
            "Feed polls, successful or not.",
            ("site", "feed_type"),
            registry=registry,
        )
        self.read_duration = Histogram(
            "cango_feed_read_duration_seconds",
            "Duration of one feed poll including retries, seconds.",
            ("feed_type",),
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0),
            registry=registry,
        )
        self._known: dict[str, str] = {}

    def observe_poll(
        self, site: str, feed_type: str, seconds: float, error: FeedErrorKind | None
    ) -> None:
        self._track(site, feed_type)
        self.feed_reads.labels(site, feed_type).inc()
        self.read_duration.labels(feed_type).observe(seconds)
        if error is not None:
            self.feed_errors.labels(site, feed_type, error.value).inc()

    def observe_state(
        self,
        site: str,
        feed_type: str,
        state: SitePowerState,
        clock: Callable[[], datetime],
    ) -> None:
        """Record a new state; the feed age is computed when Prometheus scrapes."""
        self._track(site, feed_type)
        self.capacity.labels(site).set(state.capacity_kw)
        self.other_load.labels(site).set(state.other_load_kw)
        self.gpu_draw.labels(site).set(state.gpu_draw_kw)
        self.committed.labels(site).set(state.committed_kw)
        self.available.labels(site).set(state.available_kw)
        self.gpu_excess.labels(site).set(state.gpu_excess_kw)
        self.mining_target.labels(site).set(state.mining_target_kw)
        for phase in SitePhase:
            self.phase.labels(site, phase.value).set(1 if phase is state.phase else 0)
        self.feed_healthy.labels(site, feed_type).set(1 if state.feed_healthy else 0)
        sampled = state.last_sample_time
        if sampled is not None:
            self.feed_age.labels(site, feed_type).set_function(
                lambda: (clock() - sampled).total_seconds()  # noqa: PLW0108 (clock() must run at scrape time)
            )

    def forget(self, site: str) -> None:
        """Drop every series of a site that no longer exists."""
        self._forget_feed(site)
        for gauge in (
            self.capacity,
            self.other_load,
            self.gpu_draw,
            self.committed,
            self.available,
            self.gpu_excess,
            self.mining_target,
        ):
            _remove(gauge, site)
        for phase in SitePhase:
            _remove(self.phase, site, phase.value)

    def _track(self, site: str, feed_type: str) -> None:
        """Remember a site's feed type; a changed type drops the old type's series."""
        if self._known.get(site, feed_type) != feed_type:
            self._forget_feed(site)
        self._known[site] = feed_type

    def _forget_feed(self, site: str) -> None:
        feed_type = self._known.pop(site, None)
        if feed_type is None:
            return
        for metric in (self.feed_healthy, self.feed_age, self.feed_reads):
            _remove(metric, site, feed_type)
        for kind in FeedErrorKind:
            _remove(self.feed_errors, site, feed_type, kind.value)


def _remove(metric: Gauge | Counter, *labels: str) -> None:
    with contextlib.suppress(KeyError):
        metric.remove(*labels)
