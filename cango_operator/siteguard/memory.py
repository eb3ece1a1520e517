"""What the guard keeps at the site, in a ConfigMap of its own namespace, so that a guard
restarted while the hub is away still knows its sites' power specs and what it has not
reported yet.

Keys of the ConfigMap (each a JSON document):

- ``sites.json``: ``{site: spec}``, each Site's spec as last read from the hub;
- ``hub.json``: ``{"reachable": bool, "since": time}``, the guard's verdict on the hub;
- ``pending.json``: the scale-downs not yet reported to the hub (``api.ShedEntry``).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from pydantic import ValidationError

from cango_operator.api import ShedEntry, rfc3339

CONFIGMAP_NAME = "cango-site-guard"


@dataclass
class GuardMemory:
    """The guard's state worth keeping across a restart."""

    sites: dict[str, dict[str, Any]] = field(default_factory=dict)
    hub_reachable: bool = True
    hub_since: datetime | None = None
    pending: list[ShedEntry] = field(default_factory=list)

    def to_data(self) -> dict[str, str]:
        hub: dict[str, Any] = {"reachable": self.hub_reachable}
        if self.hub_since is not None:
            hub["since"] = rfc3339(self.hub_since)
        return {
            "sites.json": _dumps(self.sites),
            "hub.json": _dumps(hub),
            "pending.json": _dumps(
                [r.model_dump(by_alias=True, mode="json") for r in self.pending]
            ),
        }

    @classmethod
    def from_data(cls, data: Mapping[str, str] | None) -> GuardMemory:
        """Read back :meth:`to_data`; missing or unreadable keys are left empty."""
        data = data or {}
        sites = _loads(data.get("sites.json"), {})
        hub = _loads(data.get("hub.json"), {})
        pending = _loads(data.get("pending.json"), [])
        since = hub.get("since") if isinstance(hub, dict) else None
        return cls(
            sites=sites if isinstance(sites, dict) else {},
            hub_reachable=bool(hub.get("reachable", True)) if isinstance(hub, dict) else True,
            hub_since=_time(since),
            pending=_entries(pending),
        )


def _dumps(value: object) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


def _loads(text: str | None, default: Any) -> Any:
    if not text:
        return default
    try:
        return json.loads(text)
    except ValueError:
        return default


def _time(value: object) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


def _entries(value: object) -> list[ShedEntry]:
    """The readable entries of ``value``: one bad entry does not lose the others."""
    out = []
    for item in value if isinstance(value, list) else []:
        try:
            out.append(ShedEntry.model_validate(item))
        except ValidationError:
            continue
    return out
