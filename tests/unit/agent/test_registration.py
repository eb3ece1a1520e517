"""Self-registration: the GpuNode a site-labelled node creates from what NVML reports."""

from __future__ import annotations

from typing import Any

import pytest

from cango_operator.agent.registration import (
    build_gpunode,
    marketed_memory_gb,
    normalise_model,
    site_of,
)
from cango_operator.agent.simulated_source import KNOWN_MODELS, SimulatedSource
from cango_operator.api import parse_resource
from tests.unit.agent.readings import gpu, node


def k8s_node(name: str = "tx-1-n001", site: str | None = "tx-1", uid: str = "u-1") -> Any:
    labels = {"compute.cango.io/site": site} if site else {}
    return {"metadata": {"name": name, "uid": uid, "labels": labels}}


class TestModelNames:
    @pytest.mark.parametrize(
        ("product", "memory_mib", "model"),
        [
            ("NVIDIA H100 80GB HBM3", 81559, "H100-80GB"),
            ("NVIDIA H200", 143771, "H200-141GB"),
            ("NVIDIA A100-SXM4-80GB", 81920, "A100-80GB"),
            ("NVIDIA A100-PCIE-40GB", 40960, "A100-40GB"),
            ("NVIDIA L40S", 46068, "L40S-48GB"),
            ("NVIDIA L4", 23034, "L4-24GB"),
            ("Tesla T4", 15360, "T4-16GB"),
            ("NVIDIA H100 NVL", 95830, "H100-94GB"),
            ("NVIDIA GeForce RTX 4090", 24564, "RTX4090-24GB"),
            ("NVIDIA RTX A6000", 49140, "RTXA6000-48GB"),
        ],
    )
    def test_nvml_product_names_normalise_to_model_and_memory(
        self, product: str, memory_mib: int, model: str
    ) -> None:
        assert normalise_model(product, memory_mib) == model

    def test_every_simulated_model_reads_back_as_itself(self) -> None:
        for spec in KNOWN_MODELS.values():
            assert normalise_model(spec.product_name, spec.memory_mib) == spec.model

    def test_memory_rounds_to_the_nearest_marketed_size(self) -> None:
        assert marketed_memory_gb(81559) == 80
        assert marketed_memory_gb(183359) == 180


class TestBuildGpuNode:
    def test_a_labelled_node_gets_a_gpunode_described_by_its_gpus(self) -> None:
        reading = SimulatedSource("H100-80GB", 8, seed="tx-1-n001").read()
        body = build_gpunode(k8s_node(), reading, overhead_w=1200)
        assert body["apiVersion"] == "compute.cango.io/v1alpha1"
        assert body["kind"] == "GpuNode"
        assert body["metadata"]["name"] == "tx-1-n001"
        assert body["metadata"]["labels"]["compute.cango.io/site"] == "tx-1"
        assert body["spec"] == {
            "site": "tx-1",
            "nodeName": "tx-1-n001",
            "gpu": {"model": "H100-80GB", "count": 8, "memoryMiB": 81559, "maxPowerW": 700},
            "overheadW": 1200,
            "unschedulable": False,
        }

    def test_the_node_owns_it_so_deleting_the_node_deletes_it(self) -> None:
        body = build_gpunode(k8s_node(uid="abc"), node(count=1))
        (owner,) = body["metadata"]["ownerReferences"]
        assert owner == {"apiVersion": "v1", "kind": "Node", "name": "tx-1-n001", "uid": "abc"}

    def test_max_power_is_the_default_limit_even_while_capped(self) -> None:
        source = SimulatedSource("H100-80GB", 2)
        source.set_power_limit(0, 300)
        assert build_gpunode(k8s_node(), source.read())["spec"]["gpu"]["maxPowerW"] == 700

    def test_no_overhead_given_is_zero_and_the_node_schedulable(self) -> None:
        spec = build_gpunode(k8s_node(), node(count=1))["spec"]
        assert (spec["overheadW"], spec["unschedulable"]) == (0, False)

    def test_it_is_a_valid_gpunode_manifest(self) -> None:
        body = build_gpunode(k8s_node(), SimulatedSource("L40S-48GB", 4).read())
        assert parse_resource(body, source="registration").spec.gpu.count == 4

    def test_more_gpus_than_a_gpunode_may_have_is_refused(self) -> None:
        with pytest.raises(ValueError, match="count"):
            build_gpunode(k8s_node(), node(count=17))

    def test_a_node_without_a_site_label_cannot_register(self) -> None:
        assert site_of(k8s_node(site=None)) is None
        with pytest.raises(ValueError, match=r"no compute\.cango\.io/site label"):
            build_gpunode(k8s_node(site=None), node(count=1))

    def test_a_node_without_working_gpus_cannot_register(self) -> None:
        with pytest.raises(ValueError, match="no working GPU"):
            build_gpunode(k8s_node(), node())
        with pytest.raises(ValueError, match="no working GPU"):
            build_gpunode(k8s_node(), node(gpu(0, lost=True)))

    def test_a_lost_gpu_counts_but_does_not_describe_the_model(self) -> None:
        lost = gpu(1, lost=True, memory_total_mib=0, default_power_limit_w=0.0)
        spec = build_gpunode(k8s_node(), node(gpu(0), lost))["spec"]["gpu"]
        assert spec == {"model": "H100-80GB", "count": 2, "memoryMiB": 81559, "maxPowerW": 700}
