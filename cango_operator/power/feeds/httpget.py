"""The feeds that read JSON over HTTP: what each of them holds (:class:`HttpBasedFeed`),
and one GET of a JSON document, with every failure mapped to a feed fault kind."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any, Generic, TypeVar

import aiohttp

from cango_operator.api import LoadScope
from cango_operator.power.feeds.base import FeedErrorKind, FeedReadError
from cango_operator.power.feeds.credentials import AuthHeaders, headers_for, no_auth

C = TypeVar("C")

MAX_DOCUMENT_BYTES = 1 << 20
"""A power reading is a few hundred bytes; anything past 1 MiB is not a meter talking."""


class HttpBasedFeed(Generic[C]):
    """A feed read over HTTP: its ``config``, the caller's ``session`` (shared by all the
    site's feeds), the ``scope`` its load covers, the ``clock`` of reads without a
    timestamp of their own, and its credentials (``auth``, read on every request)."""

    def __init__(
        self,
        config: C,
        session: aiohttp.ClientSession,
        *,
        scope: LoadScope,
        clock: Callable[[], datetime],
        auth: AuthHeaders = no_auth,
    ) -> None:
        self.config = config
        self.session = session
        self.scope = scope
        self.clock = clock
        self.auth = auth

    @property
    def description(self) -> str:
        raise NotImplementedError

    async def headers(self) -> Mapping[str, str]:
        """The request headers its credentials give now."""
        return await headers_for(self.auth, self.description)


async def get_json(
    session: aiohttp.ClientSession,
    url: str,
    *,
    source: str,
    headers: Mapping[str, str],
    params: Mapping[str, str] | None = None,
    accept_statuses: frozenset[int] = frozenset({200}),
) -> tuple[int, Any]:
    """GET ``url`` and parse the body as JSON; returns (status, document).

    Timeouts are the caller's (the runner bounds every read); this maps refused
    connections, HTTP errors, oversized and non-JSON bodies to :class:`FeedReadError`.
    """
    try:
        async with session.get(
            url, headers=dict(headers), params=params, allow_redirects=False
        ) as response:
            body = await _read_capped(response)
            status = response.status
            reason = response.reason or ""
    except aiohttp.ClientConnectionError as exc:
        raise FeedReadError(
            FeedErrorKind.CONNECTION, f"{source}: connection failed ({_describe(exc)})"
        ) from None
    except aiohttp.ClientError as exc:
        raise FeedReadError(
            FeedErrorKind.CONNECTION, f"{source}: HTTP request failed ({_describe(exc)})"
        ) from None
    if status not in accept_statuses:
        raise FeedReadError(FeedErrorKind.HTTP_STATUS, f"{source}: HTTP {status} {reason}".rstrip())
    if len(body) > MAX_DOCUMENT_BYTES:
        raise FeedReadError(
            FeedErrorKind.MALFORMED, f"{source}: document larger than {MAX_DOCUMENT_BYTES} bytes"
        )
    try:
        return status, json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise FeedReadError(
            FeedErrorKind.MALFORMED, f"{source}: body is not JSON ({exc})"
        ) from None


async def _read_capped(response: aiohttp.ClientResponse) -> bytes:
    """The body, but stop after one byte past the cap instead of buffering all of it."""
    body = bytearray()
    async for chunk in response.content.iter_chunked(64 * 1024):
        body += chunk
        if len(body) > MAX_DOCUMENT_BYTES:
            break
    return bytes(body)


def _describe(exc: BaseException) -> str:
    text = str(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
