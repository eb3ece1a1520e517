"""Keeping a Node in step with its GpuNode: our labels and our taint, nobody else's."""

from __future__ import annotations

from cango_operator.builders import build_node_patch
from cango_operator.builders.labels import GPU_MODEL_LABEL, SITE_LABEL, UNHEALTHY_TAINT_KEY
from tests.unit.builders.factories import gpunode

IN_STEP = {SITE_LABEL: "tx-1", GPU_MODEL_LABEL: "H100-80GB"}
THEIRS = {"key": "node.kubernetes.io/not-ready", "effect": "NoExecute"}


class TestLabels:
    def test_missing_labels_are_added(self) -> None:
        patch = build_node_patch(gpunode(), labels={}, taints=[], resource_version="5")
        assert patch == {"metadata": {"labels": IN_STEP}}

    def test_a_node_in_step_needs_no_patch(self) -> None:
        assert build_node_patch(gpunode(), labels=IN_STEP, taints=[], resource_version="5") is None


class TestTaint:
    def test_an_unhealthy_gpunode_taints_its_node_keeping_other_taints(self) -> None:
        sick = gpunode(status={"phase": "Unhealthy"})
        patch = build_node_patch(sick, labels=IN_STEP, taints=[THEIRS], resource_version="5")
        assert patch == {
            "spec": {
                "taints": [
                    THEIRS,
                    {"key": UNHEALTHY_TAINT_KEY, "value": "Unhealthy", "effect": "NoSchedule"},
                ]
            },
            "metadata": {"resourceVersion": "5"},
        }

    def test_cordoned_and_stale_nodes_are_tainted_too(self) -> None:
        cordoned = build_node_patch(
            gpunode(unschedulable=True), labels=IN_STEP, taints=[], resource_version="1"
        )
        assert cordoned is not None
        assert cordoned["spec"]["taints"][0]["value"] == "Cordoned"
        stale = build_node_patch(
            gpunode(status={"phase": "Ready"}),
            labels=IN_STEP,
            taints=[],
            resource_version="1",
            stale=True,
        )
        assert stale is not None
        assert stale["spec"]["taints"][0]["value"] == "HeartbeatStale"

    def test_a_recovered_node_loses_only_our_taint(self) -> None:
        ours = {"key": UNHEALTHY_TAINT_KEY, "value": "Unhealthy", "effect": "NoSchedule"}
        patch = build_node_patch(
            gpunode(status={"phase": "Ready"}),
            labels=IN_STEP,
            taints=[THEIRS, ours],
            resource_version="9",
        )
        assert patch == {"spec": {"taints": [THEIRS]}, "metadata": {"resourceVersion": "9"}}

    def test_an_unhealthy_node_already_tainted_needs_no_patch(self) -> None:
        ours = {"key": UNHEALTHY_TAINT_KEY, "value": "Unknown", "effect": "NoSchedule"}
        sick = gpunode(status={"phase": "Unknown"})
        assert build_node_patch(sick, labels=IN_STEP, taints=[ours], resource_version="9") is None
