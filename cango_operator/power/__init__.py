"""Site power: live feeds, sanity checks, the site power model and the feed runner.

Pure logic beside ``placement`` and ``builders``: no kopf, no Kubernetes client. What
touches the API server (reading a feed's Secret, writing ``Site.status``) is injected
by the caller as a :data:`SecretResolver` and a :data:`StatusSink`.

Typical use by the operator::

    runner = PowerRunner(sink, secrets=read_secret, gpu_load=gpu_load_of, metrics=PowerMetrics())
    async with runner:
        await runner.set_site("tx-rockdale-1", parse_site_power_spec(site["spec"]))
"""

from cango_operator.api import SitePhase
from cango_operator.power.feeds import (
    FeedConfig,
    FeedErrorKind,
    FeedProblem,
    FeedReader,
    FeedReadError,
    FeedSample,
    FeedTiming,
    LoadScope,
    SecretResolver,
    build_feed,
    parse_feed_config,
)
from cango_operator.power.feeds.config import feed_config_of
from cango_operator.power.metrics import PowerMetrics
from cango_operator.power.model import (
    PLACEABLE_PHASES,
    FeedState,
    GpuLoad,
    SitePowerState,
    compute_site_power,
)
from cango_operator.power.runner import Clock, GpuLoadProvider, PowerRunner, StatusSink, utc_now
from cango_operator.power.sanity import SanityLimits, check_sample
from cango_operator.power.spec import (
    SitePowerSpec,
    parse_site_power_spec,
    site_power_spec_of,
)

__all__ = [
    "PLACEABLE_PHASES",
    "Clock",
    "FeedConfig",
    "FeedErrorKind",
    "FeedProblem",
    "FeedReadError",
    "FeedReader",
    "FeedSample",
    "FeedState",
    "FeedTiming",
    "GpuLoad",
    "GpuLoadProvider",
    "LoadScope",
    "PowerMetrics",
    "PowerRunner",
    "SanityLimits",
    "SecretResolver",
    "SitePhase",
    "SitePowerSpec",
    "SitePowerState",
    "StatusSink",
    "build_feed",
    "check_sample",
    "compute_site_power",
    "feed_config_of",
    "parse_feed_config",
    "parse_site_power_spec",
    "site_power_spec_of",
    "utc_now",
]
