"""Metering: a running job's ``status.usage`` grows with the GPUs and power it holds, and an
operator that restarts continues from what the status says."""

from __future__ import annotations

from typing import Any

import pytest

from tests.e2e.conftest import StartOperator
from tests.e2e.harness import Fleet, wait_for

pytestmark = pytest.mark.cluster

PUE = 1.1  # every static site of the harness
KW_PER_REPLICA = 1.0


def usage(fleet: Fleet, job: str) -> dict[str, Any]:
    return dict((fleet.get_job(job).get("status") or {}).get("usage") or {})


class TestUsage:
    def test_usage_grows_with_gpu_time_and_energy_and_survives_a_restart(
        self, fleet: Fleet, start_operator: StartOperator
    ) -> None:
        site = fleet.site("only", latency_ms=10)
        fleet.nodes(site, 1, gpus=8)
        fleet.job("chat", replicas=2, estimatedPowerW=KW_PER_REPLICA * 1000)
        fleet.job("idle", replicas=1, gpu={"count": 1, "models": ["B200-180GB"]})  # never runs
        first = start_operator("--standalone", "--usage-interval", "1")
        fleet.wait_running(["chat"])

        seen = wait_for(
            "chat to have used 0.004 GPU-hours (2 GPUs for about 7 s)",
            lambda: (u := usage(fleet, "chat")).get("gpuHours", 0) >= 0.004 and u,
            timeout=60,
            state=lambda: usage(fleet, "chat"),
        )
        # energy at the meter: 1 kW per GPU-hour here, times the site's PUE
        assert seen["energyKwh"] == pytest.approx(seen["gpuHours"] * KW_PER_REPLICA * PUE, rel=0.05)
        assert usage(fleet, "idle") in ({}, {"gpuHours": 0, "energyKwh": 0})

        first.stop()
        before = usage(fleet, "chat")
        start_operator("--standalone", "--usage-interval", "1", name="b")
        wait_for(
            "the restarted operator to count on from the recorded usage",
            lambda: usage(fleet, "chat").get("gpuHours", 0) > before["gpuHours"] + 0.001,
            timeout=60,
            state=lambda: (before, usage(fleet, "chat")),
        )
