"""Events about jobs for what a round did to them: running replicas stopped for power,
for another reason, or moved for a better plan; each named with its node and reason."""

from __future__ import annotations

from cango_operator.api import InferenceJob, parse_resource
from cango_operator.operator.events import power_events
from cango_operator.placement import Plan
from cango_operator.placement.improvement import MOVED
from cango_operator.placement.plan import Eviction


def job(name: str) -> InferenceJob:
    body = {
        "apiVersion": "compute.cango.io/v1alpha1",
        "kind": "InferenceJob",
        "metadata": {"name": name, "namespace": "t", "uid": f"uid-{name}"},
        "spec": {"container": {"image": "img:1"}},
    }
    parsed = parse_resource(body)
    assert isinstance(parsed, InferenceJob)
    return parsed


def plan_evicting(*evictions: Eviction) -> Plan:
    return Plan(placements=(), evictions=evictions, unschedulable=(), sites=())


class TestEvictions:
    def test_stopped_for_power_is_a_warning_naming_node_and_reason(self) -> None:
        plan = plan_evicting(Eviction("t/chat", "tx-n1", 2, "site Curtailed"))
        (event,) = power_events({"t/chat": job("chat")}, plan, {}, {})
        assert (event.reason, event.type, event.action) == ("ShedForPower", "Warning", "Evict")
        assert event.note == "2 replicas stopped on tx-n1: site Curtailed"
        assert event.regarding.uid == "uid-chat" and event.regarding.namespace == "t"

    def test_other_reasons_and_moves_are_told_apart(self) -> None:
        plan = plan_evicting(
            Eviction("t/chat", "n1", 1, "node Unhealthy"),
            Eviction("t/chat", "n2", 1, MOVED),
            Eviction("t/gone", "n3", 1, "site Offline"),  # its job is no more: nothing
        )
        events = power_events({"t/chat": job("chat")}, plan, {}, {})
        assert [(e.reason, e.type) for e in events] == [
            ("Evicted", "Warning"),
            ("Moved", "Normal"),
        ]
