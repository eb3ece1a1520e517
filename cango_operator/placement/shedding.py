"""Which running replicas a site over its power budget stops first: the one rule.

The planning engine applies it when a site's power figures say its GPU work does not fit
(``existing.py``, step 7), and a site's own guard applies it while the hub is out of reach
(``siteguard``). Both call :func:`shed_order`, so a site cut off from the hub stops the
same replicas the hub would have stopped.

The order: preemptible replicas first, then the rest; lowest priority first within each;
ties by job (``namespace/name``), then by node name. Replicas of one job on one node go
one at a time, and the row is emptied before the next one is touched; nothing more goes
once the freed power covers the shortfall. Rows drawing no power free nothing and are
never stopped.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class RunningReplicas:
    """Replicas of one job on one node of a site, as the shed order sees them."""

    job: str
    """``namespace/name`` of the job."""
    node: str
    """The GpuNode they run on."""
    replicas: int
    need_w: int
    """Whole watts (PUE included) one replica takes from the site's budget."""
    priority: int = 0
    preemptible: bool = False


@dataclass(frozen=True, slots=True)
class Shed:
    """Stop ``replicas`` of ``row``."""

    row: RunningReplicas
    replicas: int


def shed_key(row: RunningReplicas) -> tuple[bool, int, str, str]:
    """The sort key of the order: preemptible first, lowest priority, job, node."""
    return (not row.preemptible, row.priority, row.job, row.node)


def shed_order(rows: Iterable[RunningReplicas], short_w: int) -> list[Shed]:
    """What to stop, in order, so at least ``short_w`` watts are freed (or everything
    that draws power, when all of it is not enough). Nothing when ``short_w <= 0``."""
    out: list[Shed] = []
    left = short_w
    for row in sorted((r for r in rows if r.need_w > 0 and r.replicas > 0), key=shed_key):
        if left <= 0:
            break
        n = min(row.replicas, -(-left // row.need_w))
        out.append(Shed(row, n))
        left -= n * row.need_w
    return out
