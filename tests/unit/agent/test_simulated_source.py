"""The simulated source: load follows the pods, faults can be injected and cleared."""

from __future__ import annotations

import pytest

from cango_operator.agent.health import judge_node
from cango_operator.agent.simulated_source import (
    FAULT_ANNOTATION,
    KNOWN_MODELS,
    Fault,
    FaultKind,
    SimulatedSource,
    fault_summary,
    model_spec,
    parse_faults,
)
from cango_operator.agent.telemetry import TelemetrySource
from cango_operator.api import GpuNodePhase
from cango_operator.errors import ConfigError


class Load:
    """A settable ``gpus_in_use`` callable, as the agent's pod counter would be."""

    def __init__(self, gpus: int = 0) -> None:
        self.gpus = gpus

    def __call__(self) -> int:
        return self.gpus


class TestSimulatedGpus:
    def test_it_is_a_telemetry_source(self) -> None:
        assert isinstance(SimulatedSource(), TelemetrySource)

    def test_it_reports_the_configured_model_and_count(self) -> None:
        reading = SimulatedSource("L40S-48GB", 4).read()
        assert len(reading.gpus) == 4
        assert [g.index for g in reading.gpus] == [0, 1, 2, 3]
        assert {g.name for g in reading.gpus} == {"NVIDIA L40S"}
        assert {g.memory_total_mib for g in reading.gpus} == {46068}
        assert {g.power_limit_w for g in reading.gpus} == {350}

    def test_uuids_are_distinct_and_stable_per_node(self) -> None:
        a1 = SimulatedSource(seed="node-a").read()
        a2 = SimulatedSource(seed="node-a").read()
        b = SimulatedSource(seed="node-b").read()
        uuids = [g.uuid for g in a1.gpus]
        assert len(set(uuids)) == 8
        assert all(u.startswith("GPU-") for u in uuids)
        assert uuids == [g.uuid for g in a2.gpus]
        assert not set(uuids) & {g.uuid for g in b.gpus}

    def test_memory_and_power_can_be_overridden(self) -> None:
        gpu = SimulatedSource("H100-80GB", 1, memory_mib=1000, max_power_w=350).read().gpus[0]
        assert gpu.memory_total_mib == 1000
        assert gpu.power_limit_w == 350

    def test_a_count_outside_1_to_16_is_refused(self) -> None:
        with pytest.raises(ConfigError, match="--sim-gpus"):
            SimulatedSource(count=0)
        with pytest.raises(ConfigError, match="--sim-gpus"):
            SimulatedSource(count=17)


class TestLoadFollowsPods:
    def test_an_idle_node_draws_idle_power(self) -> None:
        reading = SimulatedSource("H100-80GB", 8).read()
        idle = KNOWN_MODELS["H100-80GB"].idle_power_w
        assert all(g.utilization_pct == 0 for g in reading.gpus)
        assert reading.gpu_power_w == pytest.approx(8 * idle)

    def test_gpus_in_use_are_busy_and_draw_more(self) -> None:
        load = Load(3)
        source = SimulatedSource("H100-80GB", 8, gpus_in_use=load)
        busy = source.read()
        assert [g.utilization_pct > 50 for g in busy.gpus] == [True] * 3 + [False] * 5
        assert all(g.memory_used_mib > 60000 for g in busy.gpus[:3])
        assert all(g.temperature_c > busy.gpus[7].temperature_c for g in busy.gpus[:3])
        load.gpus = 0
        idle = source.read()
        assert busy.gpu_power_w > idle.gpu_power_w + 3 * 400

    def test_more_gpus_asked_than_installed_saturates_at_the_count(self) -> None:
        reading = SimulatedSource("L4-24GB", 2, gpus_in_use=Load(9)).read()
        assert all(g.utilization_pct > 50 for g in reading.gpus)

    def test_a_power_limit_caps_a_busy_gpu_and_says_why(self) -> None:
        source = SimulatedSource("H100-80GB", 2, gpus_in_use=Load(2))
        assert source.set_power_limit(0, 300) == 300
        gpu0, gpu1 = source.read().gpus
        assert gpu0.power_w == 300
        assert gpu0.power_limit_w == 300
        assert "SwPowerCap" in gpu0.throttle_reasons
        assert gpu1.power_w > 600
        assert "SwPowerCap" not in gpu1.throttle_reasons

    def test_a_power_limit_is_clamped_and_none_restores_the_default(self) -> None:
        source = SimulatedSource("H100-80GB", 1)
        assert source.set_power_limit(0, 5000) == 700
        assert source.set_power_limit(0, 1) == 175  # a quarter of the maximum
        assert source.set_power_limit(0, None) == 700
        with pytest.raises(ConfigError, match="gpu 3 does not exist"):
            source.set_power_limit(3, 300)


class TestInjectedFaults:
    def test_an_xid_is_one_event_then_stays_the_last_xid(self) -> None:
        source = SimulatedSource(count=4)
        source.inject(Fault(2, FaultKind.XID, 79))
        first, second = source.read(), source.read()
        assert first.gpus[2].xids == (79,)
        assert first.gpus[2].last_xid == 79
        assert second.gpus[2].xids == ()
        assert second.gpus[2].last_xid == 79
        assert all(g.last_xid is None for g in first.gpus if g.index != 2)

    def test_xid_79_makes_the_gpu_unhealthy_and_clearing_recovers(self) -> None:
        source = SimulatedSource(count=8)
        source.inject(Fault(2, FaultKind.XID, 79))
        assert judge_node(source.read().gpus, 8).phase is GpuNodePhase.DEGRADED
        source.clear()
        reading = source.read()
        assert reading.gpus[2].last_xid is None
        assert judge_node(reading.gpus, 8).phase is GpuNodePhase.READY

    def test_an_xid_injected_again_after_clearing_is_a_new_event(self) -> None:
        source = SimulatedSource(count=1)
        source.inject(Fault(0, FaultKind.XID, 48))
        source.read()
        source.clear(0)
        source.inject(Fault(0, FaultKind.XID, 48))
        assert source.read().gpus[0].xids == (48,)

    def test_ecc_and_lost_faults(self) -> None:
        source = SimulatedSource(count=3, gpus_in_use=Load(3))
        source.set_faults([Fault(0, FaultKind.ECC, 2), Fault(1, FaultKind.LOST)])
        ecc, lost, fine = source.read().gpus
        assert ecc.ecc_double_bit_errors == 2
        assert lost.lost
        assert (lost.power_w, lost.utilization_pct, lost.memory_used_mib) == (0, 0, 0)
        assert lost.uuid == source.uuids[1]
        assert not fine.lost
        assert fine.ecc_double_bit_errors == 0

    def test_clearing_one_gpu_keeps_the_others_faults(self) -> None:
        source = SimulatedSource(count=3)
        source.set_faults([Fault(0, FaultKind.LOST), Fault(2, FaultKind.LOST)])
        source.clear(0)
        assert source.faults == (Fault(2, FaultKind.LOST),)

    def test_a_fault_on_a_gpu_that_does_not_exist_is_refused(self) -> None:
        with pytest.raises(ConfigError, match="gpu 8 does not exist"):
            SimulatedSource(count=8).inject(Fault(8, FaultKind.XID, 79))


class TestTheFaultAnnotation:
    """The source itself follows the GpuNode's fault annotation; the agent only hands the
    annotations over."""

    def test_it_sets_replaces_and_clears_the_faults(self) -> None:
        source = SimulatedSource(count=4)
        source.follow_annotations({FAULT_ANNOTATION: "xid=79,gpu=2"})
        assert source.faults == (Fault(2, FaultKind.XID, 79),)
        source.follow_annotations({FAULT_ANNOTATION: "lost,gpu=0"})
        assert source.faults == (Fault(0, FaultKind.LOST),)
        source.follow_annotations({})
        assert source.faults == ()

    def test_faults_set_from_code_stay_while_the_annotation_is_unchanged(self) -> None:
        source = SimulatedSource(count=4)
        source.follow_annotations({})
        source.inject(Fault(1, FaultKind.ECC, 1))
        source.follow_annotations({})
        assert source.faults == (Fault(1, FaultKind.ECC, 1),)

    def test_an_annotation_that_does_not_parse_changes_nothing(self) -> None:
        source = SimulatedSource(count=4)
        source.follow_annotations({FAULT_ANNOTATION: "xid=79,gpu=2"})
        source.follow_annotations({FAULT_ANNOTATION: "xid=79,gpu=9"})
        assert source.faults == (Fault(2, FaultKind.XID, 79),)


class TestFaultSyntax:
    def test_the_annotation_example_parses(self) -> None:
        assert parse_faults("xid=79,gpu=2") == (Fault(2, FaultKind.XID, 79),)

    def test_several_faults_any_order_and_spacing(self) -> None:
        faults = parse_faults(" gpu=0, ecc=1 ; lost,gpu=5;")
        assert faults == (Fault(0, FaultKind.ECC, 1), Fault(5, FaultKind.LOST))

    def test_the_summary_reads_back_as_the_same_faults(self) -> None:
        faults = (Fault(1, FaultKind.XID, 48), Fault(0, FaultKind.ECC, 3), Fault(2, FaultKind.LOST))
        assert parse_faults(fault_summary(faults)) == faults

    def test_empty_text_is_no_fault(self) -> None:
        assert parse_faults("") == ()
        assert parse_faults("  ;  ") == ()

    @pytest.mark.parametrize(
        ("text", "message"),
        [
            ("xid=79", "missing gpu=<index>"),
            ("gpu=1", "exactly one of"),
            ("gpu=1,xid=79,ecc=1", "exactly one of"),
            ("gpu=one,xid=79", "gpu='one' is not an integer"),
            ("gpu=-1,xid=79", "gpu must be >= 0"),
            ("gpu=1,xid=0", "xid must be >= 1"),
            ("gpu=1,xid=79,color=red", "unknown key(s) color"),
            ("gpu=1,gpu=2,lost", "gpu given twice"),
            ("gpu=1,lost=maybe", "lost takes no value"),
        ],
    )
    def test_bad_faults_are_refused_naming_the_source_and_the_fault(
        self, text: str, message: str
    ) -> None:
        with pytest.raises(ConfigError) as exc:
            parse_faults(text)
        assert str(exc.value).startswith("compute.cango.io/simulate-fault: fault 1")
        assert message in str(exc.value)


class TestModels:
    def test_an_unknown_model_named_with_its_memory_is_accepted(self) -> None:
        spec = model_spec("MI300X-192GB")
        assert spec.memory_mib == 192 * 1024
        assert spec.max_power_w == 400

    def test_an_unknown_model_without_memory_is_refused_with_the_choices(self) -> None:
        with pytest.raises(ConfigError, match=r"--sim-model 'TPU'.*H100-80GB"):
            model_spec("TPU")

    def test_nonsense_overrides_are_refused(self) -> None:
        with pytest.raises(ConfigError, match="--sim-memory-mib"):
            model_spec("H100-80GB", memory_mib=0)
        with pytest.raises(ConfigError, match="--sim-max-power-w"):
            model_spec("H100-80GB", max_power_w=-1)
