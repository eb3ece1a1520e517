"""Power feed adapters (http, prometheus, modbus, static) behind one small interface."""

from cango_operator.power.feeds.base import (
    RETRYABLE_KINDS,
    FeedErrorKind,
    FeedProblem,
    FeedReadError,
    FeedSample,
    PowerFeed,
    SecretResolver,
)
from cango_operator.power.feeds.config import (
    STATIC_FEED,
    FeedConfig,
    FeedTiming,
    FeedType,
    HttpFeedConfig,
    LoadScope,
    ModbusDataType,
    ModbusFeedConfig,
    PrometheusFeedConfig,
    RegisterType,
    SecretRef,
    WordOrder,
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
    "FeedSample",
    "FeedTiming",
    "FeedType",
    "HttpFeedConfig",
    "LoadScope",
    "ModbusDataType",
    "ModbusFeedConfig",
    "PowerFeed",
    "PrometheusFeedConfig",
    "RegisterType",
    "SecretRef",
    "SecretResolver",
    "WordOrder",
    "build_feed",
    "parse_feed_config",
]
