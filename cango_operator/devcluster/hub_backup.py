"""The local federation's hub stopped, backed up and restored, as an operator of a real
hub would do it (see docs/federation.md, "Hub loss and restore").

The backup is the hub's etcd data directory, copied while the hub is stopped: an offline
snapshot, which is what ``etcdctl snapshot restore`` gives back on a real hub. The sites
never notice a backup; a restore turns the hub's whole state back to that moment, so
jobs and ManifestWorks made since are gone from it (the sites keep what they run: see
``EVICTION_GRACE`` in :mod:`.federation`).
"""

from __future__ import annotations

import shutil
from pathlib import Path

from cango_operator.devcluster.cluster import LocalCluster, cluster_start, cluster_stop
from cango_operator.devcluster.federation import Federation
from cango_operator.errors import ClusterError


def _etcd_dir(hub: LocalCluster) -> Path:
    return hub.workdir / "clusters" / hub.name / "etcd"


def backup_hub(fed: Federation, dest: Path) -> Path:
    """Stop the hub, copy its etcd data to ``dest`` (which must not exist), start it."""
    if dest.exists():
        raise ClusterError(f"backup destination {dest} exists already")
    cluster_stop(fed.hub)
    try:
        shutil.copytree(_etcd_dir(fed.hub), dest)
    finally:
        cluster_start(fed.hub)
    return dest


def restore_hub(fed: Federation, backup: Path) -> None:
    """Stop the hub, put ``backup``'s etcd data in place of its own, start it."""
    if not (backup / "member").is_dir():
        raise ClusterError(f"{backup} holds no etcd data (no member/ directory)")
    cluster_stop(fed.hub)
    try:
        target = _etcd_dir(fed.hub)
        shutil.rmtree(target)
        shutil.copytree(backup, target)
    finally:
        cluster_start(fed.hub)
