"""The GpuNode status the agent writes, and the merge patch that carries only changes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from cango_operator.agent.health import judge_node
from cango_operator.agent.status import (
    AGENT_KEYS,
    GPUS_HEALTHY,
    desired_status,
    status_patch,
)
from cango_operator.agent.telemetry import NodeReading
from cango_operator.api import GpuNode, GpuNodePhase, GpuNodeStatus, crd_manifest, rfc3339
from tests.unit.agent.readings import gpu, node

T0 = datetime(2025, 3, 1, 12, 0, 0, tzinfo=UTC)
API_GPU_FIELDS = {
    "index",
    "uuid",
    "powerW",
    "powerLimitW",
    "temperatureC",
    "utilizationPct",
    "memoryUsedMiB",
    "eccDoubleBitErrors",
    "lastXid",
    "healthy",
}


def status_of(
    reading: NodeReading, observed: dict[str, Any] | None = None, now: datetime = T0, **kw: Any
) -> dict[str, Any]:
    return desired_status(reading, judge_node(reading.gpus), observed, now=now, **kw)


class TestDesiredStatus:
    def test_it_uses_the_api_field_names_for_the_node_and_every_gpu(self) -> None:
        status = status_of(node(count=2), overhead_w=1200)
        assert status["phase"] == "Ready"
        assert status["powerW"] == round(2 * 410.4 + 1200)
        assert status["lastHeartbeatTime"] == "2025-03-01T12:00:00Z"
        assert [g["index"] for g in status["gpus"]] == [0, 1]
        assert set(status["gpus"][0]) == API_GPU_FIELDS
        assert status["gpus"][0]["lastXid"] is None
        assert status["gpus"][0]["memoryUsedMiB"] == 60000

    def test_it_never_writes_the_operators_allocated_gpus(self) -> None:
        observed = {"allocatedGpus": 3}
        status = status_of(node(count=1), observed)
        assert "allocatedGpus" not in status
        assert "allocatedGpus" not in status_patch(status, observed)
        assert "allocatedGpus" not in AGENT_KEYS

    def test_reporting_to_a_hub_it_writes_the_allocation_only_when_it_changed(self) -> None:
        status = status_of(node(count=8), {"allocatedGpus": 3}, allocated_gpus=5)
        assert status_patch(status, {"allocatedGpus": 3})["allocatedGpus"] == 5
        assert "allocatedGpus" not in status_patch(status, {"allocatedGpus": 5})

    def test_an_unhealthy_gpu_shows_in_its_entry_the_phase_and_a_condition(self) -> None:
        status = status_of(node(gpu(0), gpu(1, last_xid=79)))
        assert [g["healthy"] for g in status["gpus"]] == [True, False]
        assert status["gpus"][1]["lastXid"] == 79
        assert status["phase"] == "Degraded"
        (cond,) = status["conditions"]
        assert cond["type"] == GPUS_HEALTHY
        assert cond["status"] == "False"
        assert cond["reason"] == "SomeGpusUnhealthy"
        assert "gpu 1: XID 79" in cond["message"]

    def test_latency_results_are_reported_per_region(self) -> None:
        status = status_of(node(count=1), latency_ms={"south-america": 139.4, "europe": 88.6})
        assert status["latencyMs"] == {"europe": 89, "south-america": 139}
        assert "latencyMs" not in status_of(node(count=1))

    def test_observed_generation_is_the_generation_read(self) -> None:
        assert status_of(node(count=1), generation=4)["observedGeneration"] == 4


class TestAgainstTheApi:
    """What the agent writes is what the GpuNode model and CRD declare: nothing pruned."""

    def everything(self) -> dict[str, Any]:
        reading = node(gpu(0), gpu(1, last_xid=79, ecc_double_bit_errors=1))
        return status_of(reading, latency_ms={"north-america": 24.0}, generation=2)

    def test_the_status_validates_as_the_api_model(self) -> None:
        status = GpuNodeStatus.model_validate(self.everything())
        assert status.phase is GpuNodePhase.DEGRADED
        assert status.gpus[1].last_xid == 79
        assert status.latency_ms == {"north-america": 24}

    def test_every_field_written_is_declared_by_the_crd(self) -> None:
        schema = crd_manifest(GpuNode)["spec"]["versions"][0]["schema"]["openAPIV3Schema"]
        declared = schema["properties"]["status"]["properties"]
        status = self.everything()
        assert set(status) <= set(declared)
        assert set(status["gpus"][0]) <= set(declared["gpus"]["items"]["properties"])
        condition = declared["conditions"]["items"]
        assert set(status["conditions"][0]) <= set(condition["properties"])
        assert set(condition["required"]) <= set(status["conditions"][0])


class TestConditions:
    def test_other_writers_conditions_are_kept_as_read(self) -> None:
        theirs = {"type": "Tainted", "status": "True", "reason": "Operator", "message": "x"}
        status = status_of(node(count=1), {"conditions": [theirs]})
        assert status["conditions"][0] == theirs
        assert [c["type"] for c in status["conditions"]] == ["Tainted", GPUS_HEALTHY]

    def test_transition_time_moves_only_when_the_condition_flips(self) -> None:
        first = status_of(node(count=1), now=T0)
        later = status_of(node(count=1), first, now=T0 + timedelta(minutes=5))
        assert later["conditions"][0]["lastTransitionTime"] == rfc3339(T0)
        flipped_at = T0 + timedelta(minutes=6)
        flipped = status_of(node(gpu(0, lost=True)), later, now=flipped_at)
        assert flipped["conditions"][0]["status"] == "False"
        assert flipped["conditions"][0]["reason"] == "NoHealthyGpu"
        assert flipped["conditions"][0]["lastTransitionTime"] == rfc3339(flipped_at)


class TestPatchOnlyWhatChanged:
    def test_the_first_write_sends_everything(self) -> None:
        desired = status_of(node(count=2))
        assert status_patch(desired, None) == desired

    def test_nothing_changed_sends_only_the_heartbeat(self) -> None:
        written = status_of(node(count=2))
        again = status_of(node(count=2), written, now=T0 + timedelta(seconds=15))
        assert status_patch(again, written) == {"lastHeartbeatTime": "2025-03-01T12:00:15Z"}

    def test_one_gpu_changing_sends_the_gpu_list_and_the_totals_it_moves(self) -> None:
        written = status_of(node(count=2))
        hotter = status_of(node(gpu(0), gpu(1, power_w=600.0)), written)
        patch = status_patch(hotter, written)
        assert set(patch) == {"lastHeartbeatTime", "gpus", "powerW"}
        assert patch["gpus"][1]["powerW"] == 600

    def test_a_phase_someone_else_changed_is_put_right(self) -> None:
        written = status_of(node(count=1))
        on_server = {**written, "phase": "Unknown"}
        assert status_patch(status_of(node(count=1), on_server), on_server)["phase"] == "Ready"

    def test_a_null_the_api_server_dropped_is_not_a_change(self) -> None:
        written = status_of(node(count=1))
        on_server = {
            **written,
            "gpus": [{k: v for k, v in written["gpus"][0].items() if v is not None}],
        }
        assert "lastXid" not in on_server["gpus"][0]
        assert "gpus" not in status_patch(status_of(node(count=1), on_server), on_server)

    def test_latency_no_longer_measured_is_deleted(self) -> None:
        written = status_of(node(count=1), latency_ms={"europe": 40.0})
        patch = status_patch(status_of(node(count=1), written), written)
        assert patch["latencyMs"] is None

    def test_an_xid_sends_the_phase_gpus_and_condition(self) -> None:
        written = status_of(node(count=2))
        broken = status_of(node(gpu(0), gpu(1, last_xid=79)), written)
        assert set(status_patch(broken, written)) == {
            "lastHeartbeatTime",
            "phase",
            "gpus",
            "conditions",
        }
