"""What the real node leaves on the host, found and removed: its cgroups (one root per
node, in every mounted hierarchy), the processes in them and its containerd shims, and
the mounts under its directory (container root filesystems, shm, network namespaces,
the kubelet's volumes)."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

MOUNTINFO = Path("/proc/self/mountinfo")


def _unescape(field: str) -> str:
    """mountinfo escapes space, tab, newline and backslash as octal."""
    return field.encode().decode("unicode_escape")


def _mounts() -> Iterator[tuple[str, str]]:
    """(mount point, filesystem type) of every mount, in mount order."""
    for line in MOUNTINFO.read_text().splitlines():
        fields = line.split()
        sep = fields.index("-")
        yield _unescape(fields[4]), fields[sep + 1]


def cgroup_hierarchies() -> list[Path]:
    """Every mounted cgroup hierarchy (v1 controllers and the unified one)."""
    return [Path(point) for point, kind in _mounts() if kind in ("cgroup", "cgroup2")]


def make_cgroups(root: str) -> None:
    """Create the kubelet's cgroup root in every hierarchy (it must exist); a v1 cpuset
    starts empty, so it gets its parent's CPUs and memory nodes."""
    for hierarchy in cgroup_hierarchies():
        path = hierarchy / root.lstrip("/")
        path.mkdir(exist_ok=True)
        for name in ("cpuset.cpus", "cpuset.mems"):
            if (path / name).exists() and not (path / name).read_text().strip():
                (path / name).write_text((hierarchy / name).read_text())


def _cgroup_dirs(root: str) -> list[Path]:
    """Our cgroups, deepest first."""
    found: list[Path] = []
    for hierarchy in cgroup_hierarchies():
        top = hierarchy / root.lstrip("/")
        if top.is_dir():
            found += [Path(d) for d, _, _ in os.walk(top)]
    return sorted(found, key=lambda p: len(p.parts), reverse=True)


def cgroup_pids(root: str) -> set[int]:
    """Every process in our cgroups."""
    pids: set[int] = set()
    for path in _cgroup_dirs(root):
        with contextlib.suppress(OSError):
            pids |= {int(p) for p in (path / "cgroup.procs").read_text().split()}
    return pids


def remove_cgroups(root: str, timeout: float = 20) -> list[Path]:
    """Kill what runs in our cgroups and remove them, deepest first; return those that
    could not be removed within ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        for pid in cgroup_pids(root):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        left = []
        for path in _cgroup_dirs(root):
            try:
                path.rmdir()
            except FileNotFoundError:
                pass
            except OSError:
                left.append(path)
        if not left or time.monotonic() > deadline:
            return left
        time.sleep(0.2)


def processes_mentioning(*needles: str) -> list[int]:
    """Pids whose command line holds any of ``needles`` (a socket path, a directory)."""
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit() or int(proc.name) == os.getpid():
            continue
        try:
            cmdline = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if any(n in cmdline for n in needles):
            found.append(int(proc.name))
    return found


def kill_all(pids: list[int], timeout: float = 10) -> None:
    """SIGKILL each pid and wait (bounded) until it is gone."""
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + timeout
    while any(Path(f"/proc/{p}").exists() and not _zombie(p) for p in pids):
        if time.monotonic() > deadline:
            return
        time.sleep(0.1)


def _zombie(pid: int) -> bool:
    try:
        return (Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]) == "Z"
    except (OSError, IndexError):
        return False


def mounts_under(base: Path) -> list[str]:
    """Mount points at or below ``base``, deepest (latest) first."""
    prefix = str(base.resolve())
    points = [p for p, _ in _mounts() if p == prefix or p.startswith(prefix + "/")]
    return list(reversed(points))


def unmount_under(base: Path, passes: int = 5) -> list[str]:
    """Unmount everything below ``base`` (detaching what is busy); return what is left."""
    for _ in range(passes):
        points = mounts_under(base)
        if not points:
            return []
        for point in points:
            subprocess.run(["umount", "--lazy", point], capture_output=True, check=False)
    return mounts_under(base)
