"""Whether Envoy runs the listener and cluster files last written, and a second delivery
when it does not.

Envoy reads a file when one is moved into its directory, and reports the ``version_info``
of the last file it applied (its ``version_text`` readouts). A file it refused, or a
move it never saw, would otherwise leave it on the old routes until the next change; so
a file still not applied some seconds after its move is moved in again, a few times, and
then reported as refused (Envoy's own log, relayed into ours, says why).
"""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Callable

from cango_operator.gateway.files import ConfigFiles
from cango_operator.gateway.process import admin_get

log = logging.getLogger(__name__)

#: The file each of Envoy's file subscriptions reads, by its stats prefix; in the order
#: they are moved in again (clusters before the listener that names them).
SUBSCRIPTIONS = {"cluster_manager.cds": "cds.yaml", "listener_manager.lds": "lds.yaml"}
STATS_PATH = "/stats?filter=^(cluster_manager\\.cds|listener_manager\\.lds)\\.version_text$"


def running_versions(stats: str) -> dict[str, str]:
    """From Envoy's admin ``/stats`` text: the version it runs, by file name."""
    found = {}
    for line in stats.splitlines():
        key, _, value = line.partition(": ")
        prefix, _, stat = key.rpartition(".")
        if stat == "version_text" and prefix in SUBSCRIPTIONS:
            found[SUBSCRIPTIONS[prefix]] = value.strip().strip('"')
    return found


def admin_stats(admin: tuple[str, int]) -> Callable[[], str]:
    """Reads the readouts ``running_versions`` needs from Envoy's admin interface."""
    return functools.partial(admin_get, admin, STATS_PATH)


class AppliedCheck:
    """Moves a listener or cluster file in again when Envoy has not applied it ``grace``
    seconds after its move, at most ``tries`` times for one version."""

    def __init__(
        self,
        files: ConfigFiles,
        read_stats: Callable[[], str],
        grace: float = 5.0,
        tries: int = 3,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._files = files
        self._read_stats = read_stats
        self.grace = grace
        self.tries = tries
        self._clock = clock
        #: Moves in again, by (file, version).
        self._retried: dict[tuple[str, str], int] = {}

    def check(self) -> list[str]:
        """The files moved in again by this check; none while Envoy cannot be asked."""
        try:
            running = running_versions(self._read_stats())
        except (OSError, ValueError):
            return []  # Envoy starting, or gone: the command sees to that
        now = self._clock()
        moved = []
        for name in SUBSCRIPTIONS.values():
            wanted = self._files.version(name)
            if wanted is None or running.get(name) == wanted:
                continue
            if now - self._files.delivered.get(name, now) < self.grace:
                continue
            key = (name, wanted)
            tries = self._retried.get(key, 0)
            if tries >= self.tries:
                if tries == self.tries:
                    log.error(
                        "Envoy refuses %s version %s (it runs %r) after %d moves; it keeps "
                        "its last configuration (its log above says why)",
                        *(name, wanted, running.get(name, ""), tries + 1),
                    )
                    self._retried[key] = tries + 1
                continue
            log.warning(
                "Envoy has not applied %s version %s %.0f s after it was moved in (it runs "
                "%r): moving it in again",
                *(name, wanted, now - self._files.delivered[name], running.get(name, "")),
            )
            self._files.redeliver(name)
            self._retried[key] = tries + 1
            moved.append(name)
        # Only the versions last written can still be moved in again.
        self._retried = {
            key: n for key, n in self._retried.items() if self._files.version(key[0]) == key[1]
        }
        return moved
