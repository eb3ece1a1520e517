"""Feed credentials from a Secret, turned into HTTP headers; never logged or repr'd.

The Secret (named by ``power.feed.secretRef.name``) holds either ``token`` (sent as a
bearer token) or ``username`` and ``password`` (HTTP basic auth). It is read on every
poll, so a rotated Secret takes effect at the next read without a restart.
"""

from __future__ import annotations

import base64
from collections.abc import Awaitable, Callable, Mapping

from cango_operator.api import SecretRef
from cango_operator.power.feeds.base import FeedErrorKind, FeedReadError, SecretResolver

AuthHeaders = Callable[[], Awaitable[Mapping[str, str]]]


class _Headers(dict[str, str]):
    """A header dict whose repr hides the values, in case it ever reaches a log."""

    def __repr__(self) -> str:
        return f"<headers {sorted(self)} (values hidden)>"


async def no_auth() -> Mapping[str, str]:
    return _Headers()


def secret_auth(secret: SecretRef, resolver: SecretResolver | None) -> AuthHeaders:
    """Headers from the Secret ``secret``, resolved on each call."""

    async def headers() -> Mapping[str, str]:
        source = f"secret {str(secret)!r}"
        if resolver is None:
            raise FeedReadError(
                FeedErrorKind.CREDENTIALS,
                f"{source}: this runner has no way to read Secrets (no resolver configured)",
            )
        try:
            data = await resolver(secret.name, secret.namespace)
        except Exception as exc:
            raise FeedReadError(
                FeedErrorKind.CREDENTIALS,
                f"{source} could not be read ({type(exc).__name__})",
            ) from None
        return auth_headers(data, source)

    return headers


async def headers_for(auth: AuthHeaders, source: str) -> Mapping[str, str]:
    """``auth()``, with a credentials fault's message prefixed by the feed it belongs to."""
    try:
        return await auth()
    except FeedReadError as fault:
        raise FeedReadError(fault.kind, f"{source}: {fault.problem.message}") from None


def basic_authorization(username: str, password: str) -> str:
    """The ``Authorization`` value for HTTP basic auth (RFC 7617, UTF-8)."""
    pair = f"{username}:{password}".encode()
    return "Basic " + base64.b64encode(pair).decode("ascii")


def auth_headers(data: Mapping[str, str], source: str) -> Mapping[str, str]:
    """``token`` -> bearer; ``username`` + ``password`` -> basic; anything else is a fault."""
    token = data.get("token")
    if token:
        return _Headers(Authorization=f"Bearer {token.strip()}")
    username, password = data.get("username"), data.get("password")
    if username and password is not None:
        return _Headers(Authorization=basic_authorization(username, password))
    raise FeedReadError(
        FeedErrorKind.CREDENTIALS,
        f"{source} has neither 'token' nor 'username' and 'password' "
        f"(keys present: {sorted(data)})",
    )
