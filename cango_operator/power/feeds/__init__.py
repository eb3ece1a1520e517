"""Power feed adapters (http, prometheus, modbus, static) behind one small interface."""

from cango_operator.api import LoadScope, WordOrder
from cango_operator.power.feeds.base import (
    RETRYABLE_KINDS,
    FeedErrorKind,
    FeedProblem,
    FeedReader,
    FeedReadError,
    FeedSample,
    SecretResolver,
)
from cango_operator.power.feeds.config import (
    STATIC_FEED,
    FeedConfig,
    FeedTiming,
    HttpFeedConfig,
    ModbusFeedConfig,
    PrometheusFeedConfig,
    feed_config_of,
    parse_feed_config,
)
from cango_operator.power.feeds.factory import build_feed

__all__ = [
    "RETRYABLE_KINDS",
    "STATIC_FEED",
    "FeedConfig",
    "FeedErrorKind",
    "FeedProblem",
    "FeedReadError",
    "FeedReader",
    "FeedSample",
    "FeedTiming",
    "HttpFeedConfig",
    "LoadScope",
    "ModbusFeedConfig",
    "PrometheusFeedConfig",
    "SecretResolver",
    "WordOrder",
    "build_feed",
    "feed_config_of",
    "parse_feed_config",
]
