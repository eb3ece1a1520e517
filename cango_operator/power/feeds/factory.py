"""Build the feed adapter a :class:`FeedConfig` describes."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

import aiohttp

from cango_operator.power.feeds.base import FeedReader, SecretResolver
from cango_operator.power.feeds.config import (
    FeedConfig,
    HttpFeedConfig,
    ModbusFeedConfig,
    PrometheusFeedConfig,
)
from cango_operator.power.feeds.credentials import AuthHeaders, no_auth, secret_auth
from cango_operator.power.feeds.http import HttpFeed
from cango_operator.power.feeds.modbus import ModbusFeed
from cango_operator.power.feeds.prometheus import PrometheusFeed
from cango_operator.power.feeds.static import StaticFeed


def build_feed(
    config: FeedConfig,
    *,
    session: aiohttp.ClientSession,
    clock: Callable[[], datetime],
    secrets: SecretResolver | None = None,
) -> FeedReader:
    """The adapter for ``config``; HTTP-based feeds share the caller's ``session``."""
    auth: AuthHeaders = no_auth
    if config.secret is not None:
        auth = secret_auth(config.secret, secrets)
    source = config.source
    if isinstance(source, HttpFeedConfig):
        return HttpFeed(source, session, scope=config.load_scope, clock=clock, auth=auth)
    if isinstance(source, PrometheusFeedConfig):
        return PrometheusFeed(source, session, scope=config.load_scope, clock=clock, auth=auth)
    if isinstance(source, ModbusFeedConfig):
        return ModbusFeed(
            source,
            scope=config.load_scope,
            clock=clock,
            timeout_seconds=config.timing.timeout_seconds,
        )
    return StaticFeed(clock)
