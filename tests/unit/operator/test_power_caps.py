"""The operator asks a power-short site's node agents to cap their GPUs, through the
GpuNode annotation the agents enforce, and lifts the cap when the work no longer needs it."""

from __future__ import annotations

from cango_operator.api.gpunode import POWER_LIMIT_ANNOTATION
from cango_operator.operator.statuses import POWER_CAP_KIND
from tests.unit.operator.fleet import Fleet, decide


def capped_fleet(replicas: int) -> Fleet:
    """Site tx: 20 kW for GPUs (PUE 1.0, no mining), caps down to 60 % allowed; two 8-GPU
    nodes of 700 W GPUs; one-GPU replicas."""
    fleet = Fleet()
    fleet.site(
        "tx",
        power={"capacityKw": 20, "reserveKw": 0, "pue": 1.0, "gpuPowerCapShare": 0.6},
        mining={"loadKw": 0, "curtailableKw": 0},
    )
    fleet.gpu_node("tx-n1", "tx")
    fleet.gpu_node("tx-n2", "tx")
    fleet.job("chat", replicas=replicas)
    return fleet


def caps(writes: list) -> dict[str, object]:  # type: ignore[type-arg]
    return {w.name: w.body[POWER_LIMIT_ANNOTATION] for w in writes if w.kind == POWER_CAP_KIND}


class TestAskingForACap:
    async def test_a_site_short_of_power_has_its_gpus_capped_and_serves_more(self) -> None:
        fleet = capped_fleet(replicas=16)  # 11.2 kW at full power: fits
        assert caps((await decide(fleet)).writes()) == {}
        fleet = capped_fleet(replicas=16)
        fleet.site(
            "tx",
            power={"capacityKw": 8, "reserveKw": 0, "pue": 1.0, "gpuPowerCapShare": 0.6},
            mining={"loadKw": 0, "curtailableKw": 0},
        )
        rnd = await decide(fleet)
        # 8 kW: 11 replicas at 700 W, 16 at 420 W (6.7 kW)
        assert sum(r.replicas for r in rnd.jobs["t/chat"].rows) == 16
        assert caps(rnd.writes()) == {"tx-n1": "420", "tx-n2": "420"}

    async def test_once_asked_it_is_not_asked_again_and_goes_when_not_needed(self) -> None:
        fleet = capped_fleet(replicas=16)
        fleet.site(
            "tx",
            power={"capacityKw": 8, "reserveKw": 0, "pue": 1.0, "gpuPowerCapShare": 0.6},
            mining={"loadKw": 0, "curtailableKw": 0},
        )
        fleet.apply((await decide(fleet)).writes())
        gpunode = fleet.get("GpuNode", "tx-n1")
        assert gpunode["metadata"]["annotations"][POWER_LIMIT_ANNOTATION] == "420"
        assert caps((await decide(fleet)).writes()) == {}
        fleet.job("chat", replicas=4)  # the tenant scales down: 2.8 kW at full power
        assert caps((await decide(fleet)).writes()) == {"tx-n1": None, "tx-n2": None}
