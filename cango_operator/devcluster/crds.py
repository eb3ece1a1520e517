"""Third-party CRDs in a local cluster: applied from a directory of YAML files, then
waited for until the API server serves them."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from cango_operator.devcluster.cluster import LocalCluster


def apply_crds(
    cluster: LocalCluster, crds: Path, established: Sequence[str], timeout: float
) -> None:
    """Apply every ``*.yaml`` of ``crds`` (server-side: CRDs are too large for a
    last-applied annotation) and wait for the ``established`` CRDs, by name."""
    args = ["apply", "--server-side", "--force-conflicts", "--field-manager=cango-dev"]
    for path in sorted(crds.glob("*.yaml")):
        args += ["-f", str(path)]
    cluster.kubectl(*args)
    cluster.kubectl(
        "wait",
        "--for=condition=Established",
        f"--timeout={int(timeout)}s",
        *[f"crd/{name}" for name in established],
    )
