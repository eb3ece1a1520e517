"""Health rules: which GPUs are usable and what phase the node is in."""

from __future__ import annotations

from cango_operator.agent.health import FATAL_XIDS, judge_gpu, judge_node
from cango_operator.api import GpuNodePhase
from tests.unit.agent.readings import gpu


class TestGpuHealth:
    def test_a_gpu_without_errors_is_healthy(self) -> None:
        verdict = judge_gpu(gpu())
        assert verdict.healthy
        assert verdict.reason == ""

    def test_the_fatal_xids_named_by_the_api_make_a_gpu_unhealthy(self) -> None:
        for xid in (48, 79, 94, 95):
            verdict = judge_gpu(gpu(last_xid=xid))
            assert not verdict.healthy, xid
            assert f"XID {xid}" in verdict.reason

    def test_xid_79_is_explained_as_fallen_off_the_bus(self) -> None:
        assert "fallen off the bus" in judge_gpu(gpu(last_xid=79)).reason

    def test_an_application_xid_leaves_the_gpu_healthy(self) -> None:
        for xid in (13, 31, 43, 45):
            assert xid not in FATAL_XIDS
            assert judge_gpu(gpu(last_xid=xid)).healthy, xid

    def test_a_single_double_bit_ecc_error_makes_a_gpu_unhealthy(self) -> None:
        verdict = judge_gpu(gpu(ecc_double_bit_errors=1))
        assert not verdict.healthy
        assert "double-bit ECC" in verdict.reason

    def test_a_gpu_lost_from_the_bus_is_unhealthy(self) -> None:
        verdict = judge_gpu(gpu(lost=True))
        assert not verdict.healthy
        assert "fallen off the bus" in verdict.reason

    def test_the_fatal_list_can_be_narrowed(self) -> None:
        assert judge_gpu(gpu(last_xid=79), fatal_xids=frozenset({48})).healthy


class TestNodePhase:
    def test_all_gpus_healthy_is_ready(self) -> None:
        health = judge_node(tuple(gpu(i) for i in range(8)), expected_count=8)
        assert health.phase is GpuNodePhase.READY
        assert health.healthy_count == 8
        assert health.message == "8/8 GPUs healthy"

    def test_one_unhealthy_gpu_of_eight_is_degraded(self) -> None:
        gpus = tuple(gpu(i, last_xid=79 if i == 2 else None) for i in range(8))
        health = judge_node(gpus, expected_count=8)
        assert health.phase is GpuNodePhase.DEGRADED
        assert health.healthy_count == 7
        assert [g.index for g in health.gpus if not g.healthy] == [2]
        assert health.message == "7/8 GPUs healthy: gpu 2: XID 79 (fallen off the bus)"

    def test_no_healthy_gpu_is_unhealthy(self) -> None:
        gpus = (gpu(0, lost=True), gpu(1, ecc_double_bit_errors=2))
        assert judge_node(gpus).phase is GpuNodePhase.UNHEALTHY

    def test_a_node_reporting_no_gpu_is_unhealthy(self) -> None:
        assert judge_node((), expected_count=4).phase is GpuNodePhase.UNHEALTHY

    def test_gpus_the_spec_expects_but_nvml_does_not_list_make_it_degraded(self) -> None:
        health = judge_node(tuple(gpu(i) for i in range(7)), expected_count=8)
        assert health.phase is GpuNodePhase.DEGRADED
        assert health.expected_count == 8
        assert "1 GPU(s) the spec expects are not reported" in health.message

    def test_without_a_spec_the_gpus_seen_are_the_expected_ones(self) -> None:
        assert judge_node(tuple(gpu(i) for i in range(2))).phase is GpuNodePhase.READY
