"""The live view: sites by region, power headroom, jobs by phase, events, day progress.

On a terminal it redraws one screen (ANSI, alternate screen) about once a second; when
stdout is not a terminal (CI, a pipe) it prints a plain line per simulated hour and each
event as it happens. Frames are built by pure functions from a :class:`~.samples.Snapshot`.
"""

from __future__ import annotations

import sys
from collections import Counter
from collections.abc import Sequence
from typing import TextIO

from cango_operator.demo.events import LogLine
from cango_operator.demo.fleet import BASELINE_FLEET, CANGO_FLEET
from cango_operator.demo.samples import Snapshot
from cango_operator.demo.scenario import format_time_of_day

BAR_WIDTH = 40
SITE_CELL = 34
EVENT_LINES = 6
PHASES = ("Running", "Placing", "Degraded", "Pending", "Unschedulable", "Failed")
PHASE_MARK = {
    "Ready": "●",
    "Degraded": "◐",
    "Curtailed": "◐",
    "Offline": "○",
    "Unknown": "?",
    "": "·",
}
ENTER_SCREEN = "\x1b[?1049h\x1b[?25l"
LEAVE_SCREEN = "\x1b[?25h\x1b[?1049l"
HOME_CLEAR = "\x1b[H\x1b[J"


def progress_bar(fraction: float, width: int = BAR_WIDTH) -> str:
    filled = round(max(0.0, min(1.0, fraction)) * width)
    return "[" + "█" * filled + "░" * (width - filled) + "]"


def jobs_by_phase(snapshot: Snapshot, world: str) -> str:
    counts = Counter(j.phase for j in snapshot.jobs_of(world))
    parts = [f"{p} {counts.pop(p)}" for p in PHASES if p in counts]
    parts += [f"{p} {n}" for p, n in sorted(counts.items())]
    return ", ".join(parts) or "none yet"


def free_gpus(snapshot: Snapshot, world: str, site: str) -> tuple[int, int]:
    total = snapshot.gpus_by_site.get((world, site), 0)
    used = sum(r.gpus for r in snapshot.replicas_of(world) if r.site == site)
    return max(0, total - used), total


def _region_rows(snapshot: Snapshot) -> list[str]:
    regions: dict[str, list[str]] = {}
    for site in snapshot.sites.values():
        regions.setdefault(site.region, []).append(site.name)
    rows = [f"{'REGION':<15}{'SITES UP':>9}{'HEADROOM kW':>13}{'FREE GPUs':>12}"]
    for region in sorted(regions):
        names = regions[region]
        up = sum(1 for n in names if snapshot.sites[n].powered)
        headroom = sum(snapshot.sites[n].available_kw or 0.0 for n in names)
        free = [free_gpus(snapshot, CANGO_FLEET, n) for n in names]
        rows.append(
            f"{region:<15}{up:>5}/{len(names):<3}{headroom:>13,.0f}"
            f"{sum(f for f, _ in free):>7}/{sum(t for _, t in free):<4}"
        )
    return rows


def _site_cells(snapshot: Snapshot, columns: int) -> list[str]:
    cells = []
    for site in sorted(snapshot.sites.values(), key=lambda s: (s.region, s.name)):
        free, total = free_gpus(snapshot, CANGO_FLEET, site.name)
        mark = PHASE_MARK.get(site.phase, "?")
        kw = "-" if site.available_kw is None else f"{site.available_kw:,.0f}kW"
        cells.append(f"{mark} {site.name:<18}{kw:>7} {free:>3}/{total:<3}")
    per_line = max(1, columns // SITE_CELL)
    return [
        " ".join(f"{c:<{SITE_CELL - 1}}" for c in cells[i : i + per_line]).rstrip()
        for i in range(0, len(cells), per_line)
    ]


def render_frame(
    scenario: str,
    *,
    sim_s: float,
    fraction: float,
    real_s: float,
    speed: float,
    snapshot: Snapshot | None,
    log: Sequence[LogLine],
    columns: int = 120,
) -> list[str]:
    """The whole screen as lines."""
    lines = [
        f"cango demo · {scenario} · {format_time_of_day(sim_s)} {progress_bar(fraction)} "
        f"{fraction * 100:3.0f}% · {real_s:4.0f} s real at {speed:g}x",
        "",
    ]
    if snapshot is None:
        lines.append("waiting for the first sample of the cluster ...")
    else:
        lines += _region_rows(snapshot)
        lines.append("")
        lines.append(f"jobs  cango-operator: {jobs_by_phase(snapshot, CANGO_FLEET)}")
        if _has_baseline(snapshot):
            lines.append(f"      baseline      : {jobs_by_phase(snapshot, BASELINE_FLEET)}")
        lines.append("")
        lines.append(
            "sites (● Ready ◐ Degraded/Curtailed ○ Offline ? Unknown): available, free GPUs"
        )
        lines += _site_cells(snapshot, columns)
    lines.append("")
    lines.append("events:")
    recent = list(log)[-EVENT_LINES:]
    lines += [f"  {format_time_of_day(e.sim_t)} {e.text}" for e in recent] or ["  none yet"]
    return lines


def plain_line(sim_s: float, fraction: float, snapshot: Snapshot | None) -> str:
    """One line for logs: time, progress, jobs by phase in both worlds, sites up."""
    head = f"[{format_time_of_day(sim_s)} {fraction * 100:3.0f}%]"
    if snapshot is None:
        return f"{head} waiting for the first sample"
    up = sum(1 for s in snapshot.sites.values() if s.powered)
    line = f"{head} sites up {up}/{len(snapshot.sites)} | cango: "
    line += jobs_by_phase(snapshot, CANGO_FLEET)
    if _has_baseline(snapshot):
        line += f" | baseline: {jobs_by_phase(snapshot, BASELINE_FLEET)}"
    return line


def _has_baseline(snapshot: Snapshot) -> bool:
    return snapshot.gpus_total.get(BASELINE_FLEET, 0) > 0


class LiveView:
    """Shows frames on a terminal, or plain lines elsewhere."""

    def __init__(self, scenario: str, speed: float, out: TextIO = sys.stdout) -> None:
        self.scenario = scenario
        self.speed = speed
        self.out = out
        self.tty = out.isatty()
        self._entered = False
        self._last_hour = -1
        self._printed_events = 0
        self._last_frame: list[str] = []

    def start(self) -> None:
        if self.tty:
            self.out.write(ENTER_SCREEN)
            self._entered = True

    def update(
        self,
        sim_s: float,
        fraction: float,
        real_s: float,
        snapshot: Snapshot | None,
        log: Sequence[LogLine],
    ) -> None:
        if self.tty:
            columns = _columns()
            frame = render_frame(
                self.scenario,
                sim_s=sim_s,
                fraction=fraction,
                real_s=real_s,
                speed=self.speed,
                snapshot=snapshot,
                log=log,
                columns=columns,
            )
            self._last_frame = frame
            self.out.write(HOME_CLEAR + "\n".join(line[:columns] for line in frame) + "\n")
            self.out.flush()
            return
        for entry in log[self._printed_events :]:
            self.out.write(f"  event {format_time_of_day(entry.sim_t)} {entry.text}\n")
        self._printed_events = len(log)
        hour = int(sim_s // 3600)
        if hour != self._last_hour:
            self._last_hour = hour
            self.out.write(plain_line(sim_s, fraction, snapshot) + "\n")
        self.out.flush()

    def stop(self) -> None:
        """Leave the alternate screen and leave the last frame on the normal one."""
        if self._entered:
            self.out.write(LEAVE_SCREEN)
            self.out.write("\n".join(self._last_frame) + "\n")
            self.out.flush()
            self._entered = False


def _columns() -> int:
    import shutil

    return max(60, shutil.get_terminal_size((120, 40)).columns)
