"""Reading one value out of a source document: dotted paths, numbers, flags, timestamps.

Every failure is a :class:`FeedReadError` whose message names the source and the path, so a
condition on the Site says exactly which value was wrong.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from cango_operator.power.feeds.base import FeedErrorKind, FeedReadError

_STEP = re.compile(r"([^.\[\]]+)|\[(\d+)\]")


def split_path(path: str) -> list[str | int]:
    """``$.site.meters[0].kw`` -> ``["site", "meters", 0, "kw"]`` (``$.`` is optional).

    ``meters.0.kw`` works too: a step of digits indexes a list (and names a key in a map).
    """
    text = path.removeprefix("$").removeprefix(".")
    steps: list[str | int] = []
    position = 0
    while position < len(text):
        match = _STEP.match(text, position)
        if match is None:
            raise ValueError(f"path {path!r} is not a dotted path like site.meters[0].kw")
        key, index = match.groups()
        steps.append(int(index) if index is not None else key)
        position = match.end()
        if position < len(text) and text[position] == ".":
            position += 1
    if not steps:
        raise ValueError(f"path {path!r} is empty")
    return steps


def lookup(document: Any, path: str, source: str) -> Any:
    """The value at ``path`` in a parsed JSON document; missing -> ``missing_value``."""
    try:
        steps = split_path(path)
    except ValueError as exc:
        raise FeedReadError(FeedErrorKind.MALFORMED, f"{source}: {exc}") from None
    node = document
    for depth, step in enumerate(steps):
        found = False
        is_list = isinstance(node, Sequence) and not isinstance(node, str)
        index = step if isinstance(step, int) else int(step) if step.isdigit() else None
        if isinstance(node, Mapping) and isinstance(step, str) and step in node:
            node, found = node[step], True
        elif is_list and index is not None and index < len(node):
            node, found = node[index], True
        if not found:
            where = "".join(f"[{s}]" if isinstance(s, int) else f".{s}" for s in steps[:depth])
            raise FeedReadError(
                FeedErrorKind.MISSING_VALUE,
                f"{source}: path {path!r} not found (nothing at {step!r} under "
                f"{where.lstrip('.') or 'the document root'})",
            )
    return node


def as_number(value: Any, what: str, source: str) -> float:
    """A JSON number as float; NaN and infinities pass through for the sanity checks."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise FeedReadError(
            FeedErrorKind.WRONG_TYPE,
            f"{source}: {what} must be a number, got {type(value).__name__} {_short(value)}",
        )
    return float(value)


def as_flag(value: Any, what: str, source: str) -> bool:
    """A curtailment flag: true/false, or the numbers 0 and 1."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float) and value in (0, 1):
        return bool(value)
    raise FeedReadError(
        FeedErrorKind.WRONG_TYPE,
        f"{source}: {what} must be true/false or 0/1, got {type(value).__name__} {_short(value)}",
    )


def as_timestamp(value: Any, what: str, source: str) -> datetime:
    """Unix seconds or an RFC 3339 string (``Z`` or an offset) as an aware UTC datetime."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        try:
            return datetime.fromtimestamp(value, tz=UTC)
        except (OverflowError, OSError, ValueError):
            raise FeedReadError(
                FeedErrorKind.MALFORMED, f"{source}: {what} {value!r} is not a usable time"
            ) from None
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            raise FeedReadError(
                FeedErrorKind.MALFORMED,
                f"{source}: {what} {_short(value)} is not an RFC 3339 time",
            ) from None
        if parsed.tzinfo is None:
            raise FeedReadError(
                FeedErrorKind.MALFORMED,
                f"{source}: {what} {_short(value)} has no time zone",
            )
        return parsed.astimezone(UTC)
    raise FeedReadError(
        FeedErrorKind.WRONG_TYPE,
        f"{source}: {what} must be unix seconds or an RFC 3339 string, got "
        f"{type(value).__name__} {_short(value)}",
    )


def _short(value: Any, limit: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."
