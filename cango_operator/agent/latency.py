"""Latency probes: TCP connect time from this node to an endpoint in each client region.

A TCP connect takes one round trip (SYN, SYN-ACK), so its time is a fair RTT estimate
that needs no ICMP privilege and no cooperation from the far end beyond a listening port.
Each round sends ``count`` probes one after another per region (regions in parallel) and
reports their median, which a single slow handshake or retransmit does not move. Probes
that fail or time out are counted; when more than half of a round fails the region is
reported unreachable (``median_ms`` is ``None``) rather than from a biased few.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import statistics
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from cango_operator.errors import ConfigError

DEFAULT_PROBE_COUNT = 5
DEFAULT_PROBE_TIMEOUT_S = 2.0
DEFAULT_PROBE_SPACING_S = 0.05
_REGION = re.compile(r"^[a-z0-9]([a-z0-9-]*[a-z0-9])?$")


@dataclass(frozen=True)
class ProbeTarget:
    region: str
    host: str
    port: int

    def __str__(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{self.region}={host}:{self.port}"


@dataclass(frozen=True)
class ProbeResult:
    region: str
    samples_ms: tuple[float, ...]
    failures: int
    median_ms: float | None
    error: str = ""  # the last failure, for logs


def parse_probe(text: str) -> ProbeTarget:
    """``REGION=HOST:PORT`` (IPv6 as ``[ADDR]:PORT``) → target, or a ConfigError naming --probe."""
    region, sep, endpoint = text.partition("=")
    where = f"--probe {text!r}"
    if not sep or not region or not endpoint:
        raise ConfigError(f"{where}: expected REGION=HOST:PORT")
    if not _REGION.match(region):
        raise ConfigError(f"{where}: region {region!r} must be lowercase letters, digits and '-'")
    if endpoint.startswith("["):
        host, bracket, rest = endpoint[1:].partition("]")
        if not bracket or not rest.startswith(":"):
            raise ConfigError(f"{where}: expected [IPV6]:PORT")
        port_text = rest[1:]
    else:
        host, colon, port_text = endpoint.rpartition(":")
        if not colon or not host:
            raise ConfigError(f"{where}: missing :PORT")
    try:
        port = int(port_text)
    except ValueError:
        raise ConfigError(f"{where}: port {port_text!r} is not a number") from None
    if not 1 <= port <= 65535:
        raise ConfigError(f"{where}: port {port} is not in 1..65535")
    return ProbeTarget(region, host, port)


def parse_probes(texts: Iterable[str]) -> tuple[ProbeTarget, ...]:
    targets = tuple(parse_probe(t) for t in texts)
    regions = [t.region for t in targets]
    dupes = sorted({r for r in regions if regions.count(r) > 1})
    if dupes:
        raise ConfigError(f"--probe: region(s) given more than once: {', '.join(dupes)}")
    return targets


def robust_ms(samples: Sequence[float], attempts: int) -> float | None:
    """Median of the successful samples, or None when more than half of the attempts failed."""
    if not samples or len(samples) * 2 < attempts:
        return None
    return float(statistics.median(samples))


async def connect_ms(host: str, port: int, timeout: float) -> float:
    """Milliseconds to open a TCP connection (closed at once); raises OSError or TimeoutError."""
    started = time.perf_counter()
    async with asyncio.timeout(timeout):
        _, writer = await asyncio.open_connection(host, port)
    elapsed = (time.perf_counter() - started) * 1000
    writer.close()
    with contextlib.suppress(OSError):  # a reset on close says nothing about the connect
        await writer.wait_closed()
    return elapsed


async def measure(
    target: ProbeTarget,
    count: int = DEFAULT_PROBE_COUNT,
    timeout: float = DEFAULT_PROBE_TIMEOUT_S,
    spacing: float = DEFAULT_PROBE_SPACING_S,
) -> ProbeResult:
    """``count`` probes to one target, one after another, ``spacing`` seconds apart."""
    samples: list[float] = []
    failures, error = 0, ""
    for i in range(count):
        if i:
            await asyncio.sleep(spacing)
        try:
            samples.append(await connect_ms(target.host, target.port, timeout))
        except TimeoutError:
            failures, error = failures + 1, f"timed out after {timeout}s"
        except OSError as exc:
            failures, error = failures + 1, str(exc) or type(exc).__name__
    return ProbeResult(
        region=target.region,
        samples_ms=tuple(samples),
        failures=failures,
        median_ms=robust_ms(samples, count),
        error=error,
    )


async def measure_all(
    targets: Iterable[ProbeTarget],
    count: int = DEFAULT_PROBE_COUNT,
    timeout: float = DEFAULT_PROBE_TIMEOUT_S,
    spacing: float = DEFAULT_PROBE_SPACING_S,
) -> dict[str, ProbeResult]:
    """One round for every target, regions in parallel; keyed by region."""
    results = await asyncio.gather(*(measure(t, count, timeout, spacing) for t in targets))
    return {r.region: r for r in results}
