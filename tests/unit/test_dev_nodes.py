"""Simulated GPU nodes: what Node a GpuNode (or a dev list entry) becomes."""

from __future__ import annotations

from pathlib import Path

import pytest

from cango_operator.devcluster.apiobjects import not_installed_message
from cango_operator.devcluster.nodes import (
    GPU_MODEL_LABEL,
    KWOK_ANNOTATION,
    SITE_LABEL,
    GpuNodeShape,
    build_kwok_node,
    load_shapes,
)
from cango_operator.errors import ManifestError

GPUNODE = """
apiVersion: compute.cango.io/v1alpha1
kind: GpuNode
metadata: {name: gn-1}
spec:
  site: tx-1
  nodeName: node-a
  gpu: {model: H100-80GB, count: 8, memoryMiB: 81559, maxPowerW: 700}
---
apiVersion: compute.cango.io/v1alpha1
kind: Site
metadata: {name: tx-1}
spec: {region: north-america}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: ignored}
"""


class TestBuildKwokNode:
    def test_gpus_are_capacity_and_allocatable(self) -> None:
        node = build_kwok_node(GpuNodeShape("n1", "site-a", "L40S-48GB", 4))
        assert node["status"]["capacity"]["nvidia.com/gpu"] == "4"
        assert node["status"]["allocatable"]["nvidia.com/gpu"] == "4"

    def test_labels_carry_site_and_model_and_kwok_manages_it(self) -> None:
        node = build_kwok_node(GpuNodeShape("n1", "site-a", "L40S-48GB", 4))
        labels = node["metadata"]["labels"]
        assert labels[SITE_LABEL] == "site-a"
        assert labels[GPU_MODEL_LABEL] == "L40S-48GB"
        assert node["metadata"]["annotations"][KWOK_ANNOTATION] == "fake"


class TestLoadShapes:
    def test_a_gpunode_becomes_a_node_named_after_spec_node_name(self, tmp_path: Path) -> None:
        f = tmp_path / "fleet.yaml"
        f.write_text(GPUNODE)
        shapes, cango = load_shapes([f])
        assert shapes == [GpuNodeShape("node-a", "tx-1", "H100-80GB", 8)]
        assert [d["kind"] for d in cango] == ["GpuNode", "Site"]

    def test_the_dev_list_format_is_read(self, tmp_path: Path) -> None:
        f = tmp_path / "dev.yaml"
        f.write_text("nodes:\n- {name: a, site: s, model: A100-80GB, count: 2}\n")
        shapes, _ = load_shapes([f])
        assert shapes == [GpuNodeShape("a", "s", "A100-80GB", 2)]

    def test_the_shipped_example_is_valid(self) -> None:
        example = Path(__file__).parents[2] / "examples" / "dev-nodes.yaml"
        shapes, _ = load_shapes([example])
        assert len(shapes) >= 3
        assert len({s.site for s in shapes}) >= 2

    @pytest.mark.parametrize(
        ("text", "message"),
        [
            (
                "nodes:\n- {name: a, site: s, count: 17}\n",
                "nodes[0].count: must be an integer 1..16",
            ),
            ("nodes:\n- {name: a, site: s, count: '2'}\n", "nodes[0].count: must be an integer"),
            ("nodes:\n- {site: s, count: 2}\n", "nodes[0]: missing name"),
            ("nodes:\n- just-a-string\n", "nodes[0]: expected a mapping"),
            (
                "nodes:\n- {name: a, site: s, count: 1}\n- {name: a, site: t, count: 1}\n",
                "given more than once: a",
            ),
            (
                "apiVersion: compute.cango.io/v1alpha1\nkind: GpuNode\nmetadata: {name: g}\n"
                "spec: {gpu: {count: 1}}\n",
                "GpuNode g: spec.site: Field required",
            ),
            ("nodes: [\n", "while parsing"),
        ],
    )
    def test_bad_input_names_the_file_and_field(
        self, tmp_path: Path, text: str, message: str
    ) -> None:
        f = tmp_path / "bad.yaml"
        f.write_text(text)
        with pytest.raises(ManifestError) as exc:
            load_shapes([f])
        assert message in str(exc.value)
        if "given more than once" not in message:
            assert "bad.yaml" in str(exc.value)


def test_missing_crds_are_named_with_what_was_skipped_and_how_to_fix_it() -> None:
    message = not_installed_message(
        ["gpunodes.compute.cango.io", "sites.compute.cango.io"], sites=3, gpunodes=4
    )
    assert message.startswith("not applied: 3 Site(s) and 4 GpuNode(s)")
    assert "CRDs are not installed (gpunodes.compute.cango.io, sites.compute.cango.io)" in message
    assert "kubectl apply -f crds/" in message
