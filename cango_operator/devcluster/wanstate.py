"""The state of a simulated WAN link, apart from its sockets: up or cut, the added delay,
the counters, and what the control endpoint may ask of it."""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping

from cango_operator.devcluster.wanclient import CUT, UP, LinkStatus

#: More than a minute each way is not latency, it is a cut.
MAX_DELAY_MS = 60_000
#: A connection beyond this many open ones is closed at once (a cut link holds every
#: connection a client makes while it retries; this bounds them).
MAX_CONNECTIONS = 256
COMMANDS = ("cut", "heal", "delay")


def loopback_address(text: str) -> tuple[str, int]:
    """``host:port`` with host in 127.0.0.0/8: the test bed reaches nothing else."""
    host, sep, port = text.rpartition(":")
    if not sep or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise ValueError(f"{text!r} is not host:port")
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        raise ValueError(f"{text!r}: the host must be an IPv4 address in 127.0.0.0/8") from None
    if ip not in ipaddress.ip_network("127.0.0.0/8"):
        raise ValueError(f"{text!r}: the host must be in 127.0.0.0/8")
    return host, int(port)


class LinkState:
    """Up or cut, and how much delay; counts what went through. A cut either stalls the
    connections (a dead WAN) or, with ``reset``, closes them and refuses new ones."""

    def __init__(self, max_connections: int = MAX_CONNECTIONS) -> None:
        self.max_connections = max_connections
        self.state = UP
        self.reset = False
        self.delay_ms = 0
        self.accepted = 0
        self.bytes_up = 0
        self.bytes_down = 0

    @property
    def delay_s(self) -> float:
        return self.delay_ms / 1000

    def apply(self, command: str, body: Mapping[str, object]) -> bool:
        """Carry out a control command; True when the open connections are to be closed.
        Raises ValueError for an unknown command or a malformed body."""
        if command == "cut":
            _only(body, {"reset"})
            reset = body.get("reset", False)
            if not isinstance(reset, bool):
                raise ValueError(f"reset must be true or false, got {reset!r}")
            self.state, self.reset = CUT, reset
            return reset
        if command == "heal":
            _only(body, set())
            self.state, self.reset = UP, False
            return False
        if command == "delay":
            _only(body, {"ms"})
            ms = body.get("ms")
            if isinstance(ms, bool) or not isinstance(ms, int) or not 0 <= ms <= MAX_DELAY_MS:
                raise ValueError(f"ms must be a whole number 0..{MAX_DELAY_MS}, got {ms!r}")
            self.delay_ms = ms
            return False
        raise ValueError(f"unknown command {command!r} (one of {', '.join(COMMANDS)})")

    def admit(self, open_now: int) -> bool:
        """Whether a new connection is taken (forwarded now, or held while the link is
        cut) rather than closed at once: a reset cut or too many open connections."""
        self.accepted += 1
        return open_now < self.max_connections and not (self.state == CUT and self.reset)

    def count(self, upward: bool, size: int) -> None:
        if upward:
            self.bytes_up += size
        else:
            self.bytes_down += size

    def status(self, open_connections: int) -> LinkStatus:
        return LinkStatus(
            state=self.state,
            delay_ms=self.delay_ms,
            open_connections=open_connections,
            accepted=self.accepted,
            bytes_up=self.bytes_up,
            bytes_down=self.bytes_down,
        )


def _only(body: Mapping[str, object], allowed: set[str]) -> None:
    unknown = sorted(set(body) - allowed)
    if unknown:
        raise ValueError(f"unknown field(s) {', '.join(unknown)}")
