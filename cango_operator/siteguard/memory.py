"""What the guard keeps at the site, in a ConfigMap of its own namespace, so that a guard
restarted while the hub is away still knows its sites' power specs and what it has not
reported yet.

Keys of the ConfigMap (each a JSON document):

- ``sites.json``: ``{site: spec}``, each Site's spec as last read from the hub;
- ``hub.json``: ``{"reachable": bool, "since": time}``, the guard's verdict on the hub;
- ``pending.json``: the scale-downs not yet reported to the hub (``report.ShedRecord``).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from cango_operator.api import rfc3339
from cango_operator.siteguard.report import ShedRecord, parse_time

CONFIGMAP_NAME = "cango-site-guard"


@dataclass
class GuardMemory:
    """The guard's state worth keeping across a restart."""

    sites: dict[str, dict[str, Any]] = field(default_factory=dict)
    hub_reachable: bool = True
    hub_since: datetime | None = None
    pending: list[ShedRecord] = field(default_factory=list)

    def to_data(self) -> dict[str, str]:
        hub: dict[str, Any] = {"reachable": self.hub_reachable}
        if self.hub_since is not None:
            hub["since"] = rfc3339(self.hub_since)
        return {
            "sites.json": _dumps(self.sites),
            "hub.json": _dumps(hub),
            "pending.json": _dumps([r.to_dict() for r in self.pending]),
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
            hub_since=parse_time(since) if isinstance(since, str) else None,
            pending=[ShedRecord.from_dict(r) for r in pending] if isinstance(pending, list) else [],
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
