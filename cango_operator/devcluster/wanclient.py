"""Drive a WAN link process (:mod:`cango_operator.devcluster.wanlink`) over its control
endpoint: cut, heal, delay, status. Blocking calls with timeouts, for tests and the CLI."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from dataclasses import asdict, dataclass
from typing import Any

from cango_operator.errors import ClusterError

#: The link's states: forwarding, or a dead WAN.
UP, CUT = "up", "cut"


@dataclass(frozen=True)
class LinkStatus:
    """What the link reports. ``up`` is the site towards the hub, ``down`` the reverse."""

    state: str
    delay_ms: int
    open_connections: int
    accepted: int
    bytes_up: int
    bytes_down: int

    def as_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> LinkStatus:
        return cls(
            state=str(data["state"]),
            delay_ms=int(data["delay_ms"]),
            open_connections=int(data["open_connections"]),
            accepted=int(data["accepted"]),
            bytes_up=int(data["bytes_up"]),
            bytes_down=int(data["bytes_down"]),
        )


@dataclass(frozen=True)
class WanLink:
    """The control endpoint of one link, ``host:port`` on 127.0.0.1."""

    control: str
    timeout: float = 5.0

    def status(self) -> LinkStatus:
        return self._call("GET", "/status")

    def cut(self, *, reset: bool = False) -> LinkStatus:
        """Cut the link. By default a dead WAN: open connections stall, new ones are
        accepted and go nowhere; ``reset`` closes them all at once instead."""
        return self._call("POST", "/cut", {"reset": reset})

    def heal(self) -> LinkStatus:
        return self._call("POST", "/heal")

    def delay(self, ms: int) -> LinkStatus:
        """Add ``ms`` of latency to each direction (0: none)."""
        return self._call("POST", "/delay", {"ms": ms})

    def wait_ready(self, timeout: float = 30.0) -> LinkStatus:
        """Wait until the link process answers (it has just been started)."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                return self.status()
            except ClusterError:
                if time.monotonic() > deadline:
                    raise
            time.sleep(0.2)

    def _call(self, method: str, path: str, body: dict[str, Any] | None = None) -> LinkStatus:
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(
            f"http://{self.control}{path}",
            data=data,
            method=method,
            headers={"Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                return LinkStatus.from_json(json.loads(response.read()))
        except urllib.error.HTTPError as exc:
            with exc:
                said = exc.read().decode(errors="replace")
            raise ClusterError(f"WAN link {self.control}{path}: HTTP {exc.code} {said}") from None
        except (OSError, ValueError) as exc:
            raise ClusterError(f"WAN link {self.control}{path}: {exc}") from None
