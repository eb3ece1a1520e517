"""One projection per watched kind: the index keeps, and the change filter compares,
the same fields of an object, read the same way."""

from __future__ import annotations

import asyncio
import copy
from datetime import UTC, datetime
from typing import Any

from cango_operator.operator.indexes import index_managed_cluster, index_node
from cango_operator.operator.projections import (
    AVAILABLE_CONDITION,
    managed_cluster_entry,
    node_entry,
    operator_labels,
)
from cango_operator.operator.relevance import ChangeFilter


def node(labels: dict[str, str], ready: str = "True") -> dict[str, Any]:
    return {
        "metadata": {"name": "n1", "resourceVersion": "7", "labels": labels},
        "spec": {"taints": [{"key": "nvidia.com/gpu", "effect": "NoSchedule"}]},
        "status": {"conditions": [{"type": "Ready", "status": ready}]},
    }


class TestNodes:
    def test_the_operator_labels_are_those_of_its_own_prefix_only(self) -> None:
        labels = {
            "compute.cango.io/site": "s1",
            "compute.example.com/rack": "r7",  # another project's "compute." labels
            "kubernetes.io/hostname": "n1",
        }
        assert operator_labels(labels) == {"compute.cango.io/site": "s1"}

    def test_a_label_the_index_does_not_keep_asks_for_no_round(self) -> None:
        filt = ChangeFilter()
        before = node({"compute.cango.io/site": "s1"})
        assert filt.wants_round("nodes", before, None)
        after = copy.deepcopy(before)
        after["metadata"]["labels"]["compute.example.com/rack"] = "r7"
        after["metadata"]["resourceVersion"] = "8"
        assert asyncio.run(index_node(before)) == {"n1": node_entry(before)}
        assert node_entry(after).labels == node_entry(before).labels
        assert not filt.wants_round("nodes", after, "MODIFIED")

    def test_the_index_and_the_filter_see_readiness_alike(self) -> None:
        filt = ChangeFilter()
        ready = node({"compute.cango.io/site": "s1"})
        assert filt.wants_round("nodes", ready, None)
        lost = node({"compute.cango.io/site": "s1"}, ready="Unknown")
        assert (node_entry(ready).ready, node_entry(lost).ready) == (True, False)
        assert filt.wants_round("nodes", lost, "MODIFIED")


class TestManagedClusters:
    def test_availability_and_its_time_are_read_once(self) -> None:
        body = {
            "metadata": {"name": "site-a"},
            "status": {
                "conditions": [
                    {
                        "type": AVAILABLE_CONDITION,
                        "status": "Unknown",
                        "reason": "LeaseLapsed",
                        "message": "lease not renewed",
                        "lastTransitionTime": "2026-11-22T12:00:00Z",
                    }
                ]
            },
        }
        entry = managed_cluster_entry(body)
        assert asyncio.run(index_managed_cluster(body)) == {"site-a": entry}
        assert (entry.available, entry.reachable) == ("Unknown", False)
        assert entry.since == datetime(2026, 11, 22, 12, tzinfo=UTC)
