"""An operator limited to some namespaces (``--namespace`` patterns) forgets the jobs of a
namespace that is deleted: kopf stops watching it without the jobs' DELETED events, and
their placements must not keep holding GPUs."""

from __future__ import annotations

import contextlib

import pytest
from kubernetes.client.exceptions import ApiException

from tests.e2e.conftest import StartOperator
from tests.e2e.harness import GROUP, VERSION, Fleet, job_body, wait_for

pytestmark = pytest.mark.cluster


class TestNamespaces:
    def test_a_deleted_namespaces_jobs_release_their_gpus(
        self, fleet: Fleet, start_operator: StartOperator
    ) -> None:
        gone = fleet.name("gone")
        fleet.core.create_namespace({"metadata": {"name": gone}})
        (node,) = fleet.nodes(fleet.site("only", latency_ms=10), 1, gpus=4)
        try:
            body = job_body("hog", gone, fleet.region, replicas=4)
            fleet.custom.create_namespaced_custom_object(
                GROUP, VERSION, gone, "inferencejobs", body
            )
            start_operator("--namespace", fleet.name("go*"), "--standalone")
            wait_for(
                "the other namespace's job to take every GPU",
                lambda: _allocated(fleet, node) == 4,
            )

            fleet.core.delete_namespace(gone)
            fleet.job("chat", replicas=2)

            fleet.wait_running(["chat"])
            wait_for(
                "the node's allocation to be the remaining job's",
                lambda: _allocated(fleet, node) == 2,
            )
        finally:
            with contextlib.suppress(ApiException):  # gone already, or going
                fleet.core.delete_namespace(gone)


def _allocated(fleet: Fleet, node: str) -> int | None:
    allocated = fleet.get_cluster("gpunodes", node).get("status", {}).get("allocatedGpus")
    return None if allocated is None else int(allocated)
