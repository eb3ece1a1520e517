"""The site-mining controller against the real API server: it reads its Site, drives fake
LuxOS miners on loopback (through pyasic) to the operator's mining target, and writes
status.mining beside the operator's fields."""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest

from cango_operator.api import GROUP, SITE_PLURAL, VERSION
from cango_operator.devcluster import LocalCluster
from cango_operator.devcluster.fakeminers import (
    FakeEpicMiner,
    FakeLuxMiner,
    FakeMinerFleet,
    MinerFault,
    mixed_fleet,
)
from cango_operator.sitemining.kube import SiteClient
from cango_operator.sitemining.runner import SiteMiningConfig, SiteMiningRunner

LuxFleet = FakeMinerFleet[FakeLuxMiner]

pytestmark = pytest.mark.cluster

REPO = Path(__file__).parents[2]
SITE_CRD = REPO / "crds" / "compute.cango.io_sites.yaml"


@pytest.fixture(scope="module")
def site_crd(cluster: LocalCluster) -> None:
    cluster.kubectl("apply", "--server-side", "--force-conflicts", "-f", str(SITE_CRD))
    cluster.kubectl(
        "wait", "--for=condition=Established", "--timeout=60s", "crd/sites.compute.cango.io"
    )


@pytest.fixture
def custom(api_client: Any, site_crd: None) -> Any:
    from kubernetes import client

    return client.CustomObjectsApi(api_client)


@pytest.fixture
async def fleet() -> AsyncIterator[LuxFleet]:
    async with FakeMinerFleet(mixed_fleet(12, ramp_s=0)) as running:
        yield running


def site_body(
    name: str, group: dict[str, Any], mining_kw: float, batch_size: int
) -> dict[str, Any]:
    """A 100 kW Site whose miners are ``group`` (about ``mining_kw``, all curtailable)."""
    return {
        "apiVersion": f"{GROUP}/{VERSION}",
        "kind": "Site",
        "metadata": {"name": name},
        "spec": {
            "region": "north-america",
            "power": {"capacityKw": 100},
            "mining": {
                "loadKw": mining_kw,
                "curtailableKw": mining_kw,
                "miners": [group],
                "ramp": {"batchSize": batch_size, "batchIntervalSeconds": 0.05},
            },
        },
    }


@pytest.fixture
def site(custom: Any, fleet: LuxFleet, request: pytest.FixtureRequest) -> Iterator[str]:
    """A Site listing the fleet, with the power figures the operator would have written."""
    name = "mining-" + request.node.name.removeprefix("test_").replace("_", "-")[:40].strip("-")
    group = {"firmware": "luxos", "addresses": fleet.addresses}
    custom.create_cluster_custom_object(GROUP, VERSION, SITE_PLURAL, site_body(name, group, 40, 4))
    yield name
    custom.delete_cluster_custom_object(GROUP, VERSION, SITE_PLURAL, name)


def set_target(custom: Any, site: str, kw: float) -> None:
    """What the operator's round writes: status.power, with the mining target."""
    power = {"capacityKw": 100, "availableKw": 10, "miningTargetKw": kw}
    custom.patch_cluster_custom_object_status(
        GROUP, VERSION, SITE_PLURAL, site, {"status": {"power": power, "phase": "Ready"}}
    )


def status_of(custom: Any, site: str) -> dict[str, Any]:
    got: dict[str, Any] = custom.get_cluster_custom_object(GROUP, VERSION, SITE_PLURAL, site)
    return dict(got.get("status") or {})


def runner(api_client: Any, site: str) -> SiteMiningRunner:
    return SiteMiningRunner(SiteMiningConfig(site, timeout_s=1.0), SiteClient(api_client))


class TestDrivingToTheTarget:
    async def test_the_miners_shed_to_the_target_and_the_status_says_so(
        self, api_client: Any, custom: Any, site: str, fleet: LuxFleet
    ) -> None:
        full_kw = fleet.draw_w() / 1000
        set_target(custom, site, round(full_kw / 2, 3))
        result = await runner(api_client, site).tick()
        assert result.report is not None and not result.report.failed
        assert fleet.draw_w() / 1000 <= full_kw / 2
        status = status_of(custom, site)
        mining = status["mining"]
        assert mining["targetKw"] == pytest.approx(full_kw / 2, abs=0.05)  # to 0.1 kW
        assert mining["miners"]["mining"] + mining["miners"]["asleep"] == 12
        assert mining["minersKw"] <= full_kw / 2 + 0.05
        assert mining["failedActions"] == 0
        assert status["power"]["miningTargetKw"] == round(full_kw / 2, 3)  # left alone
        assert status["phase"] == "Ready"

    async def test_mining_the_site_never_sheds_is_left_out_of_the_miners_target(
        self, api_client: Any, custom: Any, site: str, fleet: LuxFleet
    ) -> None:
        # 10 kW of hosted mining beside the driven fleet: loadKw 50, 40 of it curtailable.
        custom.patch_cluster_custom_object(
            GROUP, VERSION, SITE_PLURAL, site, {"spec": {"mining": {"loadKw": 50}}}
        )
        full_kw = fleet.draw_w() / 1000
        set_target(custom, site, round(10 + full_kw / 2, 3))
        await runner(api_client, site).tick()
        assert fleet.draw_w() / 1000 <= full_kw / 2
        assert status_of(custom, site)["mining"]["targetKw"] == pytest.approx(full_kw / 2, abs=0.05)

    async def test_a_higher_target_brings_them_back(
        self, api_client: Any, custom: Any, site: str, fleet: LuxFleet
    ) -> None:
        full_kw = fleet.draw_w() / 1000
        loop = runner(api_client, site)
        set_target(custom, site, round(full_kw / 3, 3))
        await loop.tick()
        set_target(custom, site, round(full_kw, 3))
        await loop.tick()
        assert not any(m.asleep for m in fleet.miners)
        assert status_of(custom, site)["mining"]["miners"]["asleep"] == 0

    async def test_without_a_target_the_miners_are_read_and_left_alone(
        self, api_client: Any, custom: Any, site: str, fleet: LuxFleet
    ) -> None:
        before = fleet.draw_w()
        result = await runner(api_client, site).tick()
        assert result.report is None
        assert fleet.draw_w() == before
        mining = status_of(custom, site)["mining"]
        assert "miningTargetKw" in mining["message"]
        assert mining["miners"]["mining"] == 12


class TestMiningRevenue:
    async def test_the_status_says_what_a_kwh_and_a_day_of_mining_earn(
        self, api_client: Any, custom: Any, site: str, fleet: LuxFleet
    ) -> None:
        custom.patch_cluster_custom_object(
            GROUP,
            VERSION,
            SITE_PLURAL,
            site,
            {"spec": {"mining": {"hashpriceUsdPerPhDay": 48.0, "efficiencyJPerTh": 25.0}}},
        )
        set_target(custom, site, round(fleet.draw_w() / 2000, 3))
        await runner(api_client, site).tick()
        mining = status_of(custom, site)["mining"]
        per_kwh = 48.0 / (24 * 25.0)
        assert mining["usdPerKwh"] == pytest.approx(per_kwh, abs=1e-6)
        assert mining["usdPerDay"] == pytest.approx(mining["minersKw"] * 24 * per_kwh, abs=0.2)
        assert mining["usdPerDay"] > 0


class TestEvents:
    async def test_a_ramp_and_a_failure_are_recorded_as_events_about_the_site(
        self, api_client: Any, custom: Any, site: str, fleet: LuxFleet
    ) -> None:
        from kubernetes import client

        fleet.miners[0].fault = MinerFault.REFUSES
        loop = SiteMiningRunner(
            SiteMiningConfig(site, timeout_s=1.0, instance="test"),
            SiteClient(api_client),
        )
        set_target(custom, site, round(fleet.draw_w() / 4000, 3))
        await loop.tick()
        events = client.EventsV1Api(api_client).list_namespaced_event(
            "default", field_selector=f"regarding.name={site}"
        )
        got = {(e.reason, e.type) for e in events.items}
        assert ("MinersShed", "Normal") in got
        assert ("MinerActionsFailed", "Warning") in got
        shed = next(e for e in events.items if e.reason == "MinersShed")
        assert shed.regarding.kind == "Site" and shed.reporting_controller.endswith("site-mining")
        assert "kW ->" in shed.note


class TestWhatGoesWrong:
    async def test_silent_and_refusing_miners_are_counted_and_reported(
        self, api_client: Any, custom: Any, site: str, fleet: LuxFleet
    ) -> None:
        loop = runner(api_client, site)
        await loop.tick()  # every miner read once: its draw is known
        fleet.miners[0].fault = MinerFault.SILENT
        fleet.miners[1].fault = MinerFault.REFUSES
        set_target(custom, site, 0)
        result = await loop.tick()
        assert result.report is not None
        mining = status_of(custom, site)["mining"]
        assert mining["miners"]["unreachable"] == 1
        assert mining["failedActions"] == 1
        assert mining["shortfallKw"] > 0  # the silent one cannot be put to sleep
        assert mining["minersKw"] >= fleet.miners[0].draw_w() / 1000 - 0.05

    async def test_a_site_that_does_not_exist_is_said_not_crashed_on(
        self, api_client: Any, site_crd: None
    ) -> None:
        result = await runner(api_client, "no-such-site").tick()
        assert result.message == "Site no-such-site does not exist"


class TestEpicMinersWithTheirSecret:
    async def test_a_mounted_password_drives_them_and_a_missing_one_is_named(
        self, api_client: Any, custom: Any, tmp_path: Path, request: pytest.FixtureRequest
    ) -> None:
        miners = [FakeEpicMiner(password="from-the-secret", ramp_s=0) for _ in range(4)]
        async with FakeMinerFleet(miners) as epic:
            name = "mining-epic"
            group = {
                "firmware": "epic",
                "addresses": epic.addresses,
                "credentialsSecretRef": {"name": "epic-pass"},
            }
            body = site_body(name, group, 14, 2)
            custom.create_cluster_custom_object(GROUP, VERSION, SITE_PLURAL, body)
            request.addfinalizer(
                lambda: custom.delete_cluster_custom_object(GROUP, VERSION, SITE_PLURAL, name)
            )
            set_target(custom, name, 7)
            config = SiteMiningConfig(name, timeout_s=1.0, credentials_dir=tmp_path)
            loop = SiteMiningRunner(config, SiteClient(api_client))

            missing = await loop.tick()
            assert "credentialsSecretRef 'epic-pass'" in missing.message
            assert not any(m.asleep for m in miners)

            (tmp_path / "epic-pass").mkdir()
            (tmp_path / "epic-pass" / "password").write_text("from-the-secret\n")
            result = await loop.tick()
            assert result.report is not None and not result.report.failed
            assert sum(m.asleep for m in miners) == 2
            assert epic.draw_w() <= 7000


class TestTheCommand:
    async def test_once_prints_what_it_did(
        self, cluster: LocalCluster, custom: Any, site: str, fleet: LuxFleet
    ) -> None:
        set_target(custom, site, 1000)  # room for all: nothing to do
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "cango_operator",
            "site-mining",
            "--site",
            site,
            "--kubeconfig",
            str(cluster.kubeconfig),
            "--once",
            "--timeout",
            "2",
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        # The fake miners answer on this test's event loop while the command runs.
        stdout, stderr = await asyncio.wait_for(process.communicate(), timeout=120)
        assert process.returncode == 0, stderr.decode()
        printed = json.loads(stdout.decode().strip().splitlines()[-1])
        assert printed["site"] == site
        assert printed["mining"]["miners"] == {"mining": 12, "asleep": 0, "unreachable": 0}
        assert "usdPerKwh" in printed["mining"]  # what it wrote, the revenue included
