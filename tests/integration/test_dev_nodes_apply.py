"""`cango-operator dev nodes` on a real cluster: kwok Nodes for the GpuNodes, and, when
the CRDs are installed, the Sites and GpuNodes themselves, server-side applied.

Whether CRDs are installed is checked on the session's cluster with a kind no cluster
serves rather than on a second, bare cluster: kwokctl picks its ports itself, clusters
started side by side collide on them, and the loser waits out its whole timeout."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

import pytest
import yaml

from cango_operator.api import RESOURCES, GpuNode, Site
from cango_operator.api.crd import crd_name
from cango_operator.cli import main
from cango_operator.devcluster import LocalCluster
from cango_operator.devcluster.apiobjects import missing_crds

pytestmark = pytest.mark.cluster

REPO = Path(__file__).parents[2]
FLEET = [
    {
        "apiVersion": "compute.cango.io/v1alpha1",
        "kind": "Site",
        "metadata": {"name": "devnodes-site"},
        "spec": {"region": "north-america", "power": {"capacityKw": 500}},
    },
    {
        "apiVersion": "compute.cango.io/v1alpha1",
        "kind": "GpuNode",
        "metadata": {"name": "devnodes-gn"},
        "spec": {
            "site": "devnodes-site",
            "nodeName": "devnodes-node",
            "gpu": {"model": "L40S-48GB", "count": 4, "memoryMiB": 46068, "maxPowerW": 350},
        },
    },
]


@pytest.fixture
def fleet_file(tmp_path: Path) -> Path:
    path = tmp_path / "fleet.yaml"
    path.write_text(yaml.safe_dump_all(FLEET))
    return path


@pytest.fixture
def with_crds(cluster: LocalCluster) -> Iterator[LocalCluster]:
    cluster.kubectl("apply", "--server-side", "--force-conflicts", "-f", str(REPO / "crds"))
    names = [f"crd/{crd_name(r)}" for r in RESOURCES]
    cluster.kubectl("wait", "--for=condition=Established", "--timeout=60s", *names)
    try:
        yield cluster
    finally:
        cluster.kubectl("delete", "--ignore-not-found", "site/devnodes-site", "gn/devnodes-gn")
        cluster.kubectl("delete", "--ignore-not-found", "node/devnodes-node")


def _managers(cluster: LocalCluster, what: str) -> set[tuple[str, str]]:
    obj = json.loads(cluster.kubectl("get", what, "-o", "json", "--show-managed-fields").stdout)
    return {(m["manager"], m["operation"]) for m in obj["metadata"]["managedFields"]}


def test_sites_and_gpunodes_are_applied_server_side_when_the_crds_are_installed(
    with_crds: LocalCluster, fleet_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["dev", "nodes", "-f", str(fleet_file), "--kubeconfig", str(with_crds.kubeconfig)]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "site/devnodes-site applied (server-side, field manager cango-dev)" in out
    assert "gpunode/devnodes-gn applied" in out
    assert ("cango-dev", "Apply") in _managers(with_crds, "site/devnodes-site")
    gpunode = json.loads(with_crds.kubectl("get", "gn/devnodes-gn", "-o", "json").stdout)
    assert gpunode["spec"]["gpu"]["count"] == 4
    node = json.loads(with_crds.kubectl("get", "node/devnodes-node", "-o", "json").stdout)
    assert node["metadata"]["labels"]["compute.cango.io/site"] == "devnodes-site"

    # Again, with a changed spec: applied over, not duplicated and not refused.
    bigger = dict(FLEET[0], spec={"region": "north-america", "power": {"capacityKw": 800}})
    fleet_file.write_text(yaml.safe_dump_all([bigger, FLEET[1]]))
    assert main(args) == 0
    site = json.loads(with_crds.kubectl("get", "site/devnodes-site", "-o", "json").stdout)
    assert site["spec"]["power"]["capacityKw"] == 800


def test_a_bad_site_is_refused_before_anything_is_written(
    with_crds: LocalCluster, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad_site = dict(FLEET[0], spec={"region": "north-america", "power": {"capacityKw": 0}})
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump_all([bad_site, FLEET[1]]))
    args = ["dev", "nodes", "-f", str(path), "--kubeconfig", str(with_crds.kubeconfig)]
    assert main(args) == 1
    assert "bad.yaml: Site devnodes-site: spec.power.capacityKw" in capsys.readouterr().err
    got = with_crds.kubectl("get", "node/devnodes-node", "--ignore-not-found", "-o", "name")
    assert got.stdout.strip() == ""


class _Unserved(Site):
    """A kind whose CRD no cluster has."""

    PLURAL: ClassVar[str] = "unserveds"


def test_a_crd_that_is_not_installed_is_reported_missing(
    with_crds: LocalCluster, api_client: Any
) -> None:
    assert missing_crds(api_client, [Site, GpuNode]) == []
    assert missing_crds(api_client, [Site, _Unserved]) == ["unserveds.compute.cango.io"]
