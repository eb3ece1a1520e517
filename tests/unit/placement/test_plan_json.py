"""``Plan.to_json()``: the documented keys, plain JSON types, numbers as people write them."""

from __future__ import annotations

import json

from tests.unit.placement.fleet import job, node, plan_of, running, site


def a_plan_with_everything() -> dict:  # type: ignore[type-arg]
    result = plan_of(
        [site("a", capacity_kw=10.0, other_load_kw=9.0, mining_load_kw=8.0, curtailable_kw=4.0)],
        [node("n1", "a"), node("sick", "a", phase="Unhealthy")],
        [job("ok", replicas=2, estimated_power_w=650.0), job("big", gpu_count=16)],
        [running("ok", "sick", 1)],
    )
    return result.to_json()


class TestJsonContract:
    def test_has_the_four_documented_lists(self) -> None:
        assert set(a_plan_with_everything()) >= {
            "placements",
            "unschedulable",
            "evictions",
            "sites",
        }

    def test_rows_have_the_documented_keys(self) -> None:
        out = a_plan_with_everything()
        assert set(out["placements"][0]) >= {"job", "site", "node", "replicas", "gpus", "powerW"}
        assert set(out["unschedulable"][0]) >= {"job", "reasons", "message"}
        assert set(out["evictions"][0]) >= {"job", "node", "replicas", "reason"}
        assert set(out["sites"][0]) >= {
            "name",
            "availableKwBefore",
            "availableKwAfter",
            "miningTargetKw",
        }

    def test_values_are_what_the_plan_decided(self) -> None:
        out = a_plan_with_everything()
        assert out["placements"] == [
            {
                "job": "t/ok",
                "site": "a",
                "node": "n1",
                "replicas": 2,
                "gpus": 2,
                "powerW": 1300,
                "newReplicas": 2,
            }
        ]
        assert out["evictions"] == [
            {"job": "t/ok", "node": "sick", "replicas": 1, "reason": "node Unhealthy"}
        ]
        assert out["unschedulable"][0]["job"] == "t/big"
        assert out["unschedulable"][0]["reasons"] == {
            "node Unhealthy": 1,
            "not enough free GPUs": 1,
        }
        # Beside the miners: 1 kW less 0.65 kW committed to the running replica. The
        # eviction gives 0.65 kW back, 1.3 kW is placed: the miners shed 0.3 of 8 kW.
        assert out["sites"] == [
            {"name": "a", "availableKwBefore": 4.35, "availableKwAfter": 3.7, "miningTargetKw": 7.7}
        ]

    def test_round_trips_through_json(self) -> None:
        out = a_plan_with_everything()
        assert json.loads(json.dumps(out)) == out
