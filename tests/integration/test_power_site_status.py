"""The feed runner writes Site status on the real API server: a Site whose feed is an HTTP
meter (with a token from a real Secret) and one whose feed is a pymodbus device go Ready,
Curtailed and Unknown as their meters say, with conditions naming the cause, and recover.

The sink and the secret resolver here are the few lines the operator wires in for real:
a merge patch of ``status`` and a Secret read, both through the Kubernetes client."""

from __future__ import annotations

import asyncio
import base64
from collections.abc import AsyncIterator, Mapping
from pathlib import Path
from typing import Any, cast

import pytest

from cango_operator.api import parse_resource
from cango_operator.devcluster import LocalCluster
from cango_operator.power import (
    PowerRunner,
    SitePowerState,
    parse_site_power_spec,
    site_power_spec_of,
)
from tests.unit.power.servers import HOLDING_BASE, MeterServer, ModbusDevice

REPO = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.cluster
GROUP, VERSION, PLURAL = "compute.cango.io", "v1alpha1", "sites"
NAMESPACE = "power-feeds"
WAIT_SECONDS = 30.0


@pytest.fixture(scope="module")
def crds(cluster: LocalCluster) -> None:
    cluster.kubectl("apply", "--server-side", "--force-conflicts", "-f", str(REPO / "crds"))
    cluster.kubectl(
        "wait", "--for=condition=Established", "--timeout=60s", "crd/sites.compute.cango.io"
    )


@pytest.fixture(scope="module")
def secret(cluster: LocalCluster, crds: None) -> None:
    cluster.kubectl(
        "apply",
        "-f",
        "-",
        input_text=(
            f"apiVersion: v1\nkind: Namespace\nmetadata: {{name: {NAMESPACE}}}\n---\n"
            "apiVersion: v1\nkind: Secret\n"
            f"metadata: {{name: meter-creds, namespace: {NAMESPACE}}}\n"
            "stringData: {token: m3ter-t0ken}\n"
        ),
    )


class KubeSite:
    """Reads Sites and Secrets and writes Site status through the Kubernetes client."""

    def __init__(self, api_client: Any) -> None:
        from kubernetes import client

        self.custom = client.CustomObjectsApi(api_client)
        self.core = client.CoreV1Api(api_client)

    def create(self, name: str, spec: Mapping[str, Any]) -> dict[str, Any]:
        body: dict[str, Any] = {
            "apiVersion": f"{GROUP}/{VERSION}",
            "kind": "Site",
            "metadata": {"name": name},
            "spec": dict(spec),
        }
        created = self.custom.create_cluster_custom_object(GROUP, VERSION, PLURAL, body)
        return cast(dict[str, Any], created)

    def get(self, name: str) -> dict[str, Any]:
        found = self.custom.get_cluster_custom_object(GROUP, VERSION, PLURAL, name)
        return cast(dict[str, Any], found)

    def delete(self, name: str) -> None:
        self.custom.delete_cluster_custom_object(GROUP, VERSION, PLURAL, name)

    async def write_status(self, name: str, state: SitePowerState) -> None:
        """The StatusSink: a merge patch of the power part of the Site's status."""
        await asyncio.to_thread(
            self.custom.patch_cluster_custom_object_status,
            GROUP,
            VERSION,
            PLURAL,
            name,
            {"status": state.status()},
        )

    async def read_secret(self, name: str, namespace: str | None) -> Mapping[str, str]:
        """The SecretResolver: decoded data of a Secret (default namespace: the operator's)."""
        secret = await asyncio.to_thread(
            self.core.read_namespaced_secret, name, namespace or "default"
        )
        return {k: base64.b64decode(v).decode() for k, v in (secret.data or {}).items()}


def site_spec(feed: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "region": "north-america",
        "power": {"capacityKw": 20000, "reserveKw": 500, "pue": 1.0, "feed": dict(feed)},
        "mining": {"loadKw": 12000, "curtailableKw": 8000},
        "energyPriceUsdPerMwh": 38,
    }


FAST = {"intervalSeconds": 1, "staleAfterSeconds": 30, "timeoutSeconds": 0.5, "retries": 0}


@pytest.fixture
async def meter() -> AsyncIterator[MeterServer]:
    server = MeterServer()
    server.state.document = {"site": {"loadKw": 12000, "capacityKw": 20000}}
    server.state.required_authorization = "Bearer m3ter-t0ken"
    await server.start()
    try:
        yield server
    finally:
        await server.stop()


@pytest.fixture
async def modbus() -> AsyncIterator[ModbusDevice]:
    device = ModbusDevice()
    device.state.holding[HOLDING_BASE] = 12000
    await device.start()
    try:
        yield device
    finally:
        await device.stop()


async def wait_status(kube: KubeSite, name: str, phase: str, **power: float) -> dict[str, Any]:
    """The Site's status once it shows ``phase`` (and the given power figures), bounded."""
    status: dict[str, Any] = {}
    try:
        async with asyncio.timeout(WAIT_SECONDS):
            while True:
                status = (await asyncio.to_thread(kube.get, name)).get("status") or {}
                figures = status.get("power") or {}
                if status.get("phase") == phase and all(
                    figures.get(k) == v for k, v in power.items()
                ):
                    return status
                await asyncio.sleep(0.2)
    except TimeoutError:
        raise AssertionError(f"site {name} never showed {phase} {power}; last: {status}") from None


def condition(status: Mapping[str, Any], type_: str) -> dict[str, Any]:
    found = [c for c in status.get("conditions", []) if c["type"] == type_]
    assert found, f"no {type_} condition in {status}"
    return dict(found[0])


async def test_runner_drives_site_status_on_the_api_server(
    api_client: Any, secret: None, meter: MeterServer, modbus: ModbusDevice
) -> None:
    kube = KubeSite(api_client)
    http_feed = {
        "type": "http",
        "url": meter.power_url,
        "jsonPath": "site.loadKw",
        "capacityPath": "site.capacityKw",
        "secretRef": {"name": "meter-creds", "namespace": NAMESPACE},
        **FAST,
    }
    modbus_feed = {
        "type": "modbus",
        "host": "127.0.0.1",
        "port": modbus.port,
        "register": HOLDING_BASE,
        **FAST,
    }
    sites = {"power-it-http": http_feed, "power-it-modbus": modbus_feed}
    for name, feed in sites.items():
        kube.create(name, site_spec(feed))
    try:
        async with PowerRunner(kube.write_status, secrets=kube.read_secret) as runner:
            for name, feed in sites.items():
                stored = kube.get(name)  # as the API server defaulted it
                assert stored["spec"]["power"]["feed"].items() >= feed.items(), "pruned"
                spec = site_power_spec_of(parse_resource(stored).spec)
                # the API server's defaults are the power code's: read back = as written
                assert spec == parse_site_power_spec(site_spec(feed))
                await runner.set_site(name, spec)

            expected = 20000 - 500 - 12000 + 8000
            for name in sites:
                ready = await wait_status(kube, name, "Ready", availableKw=expected)
                assert ready["power"]["otherLoadKw"] == 12000
                assert ready["power"]["feed"]["healthy"] is True
                assert ready["power"]["gpuExcessKw"] == 0  # written, and kept by the server
                assert condition(ready, "PowerFeedHealthy")["reason"] == "SampleFresh"

            meter.state.document = {"site": {"loadKw": 12000, "capacityKw": 15000}}
            curtailed = await wait_status(kube, "power-it-http", "Curtailed", capacityKw=15000)
            assert curtailed["power"]["availableKw"] == 0  # no new placements while curtailed
            assert condition(curtailed, "Curtailed")["reason"] == "CapacityReduced"

            meter.state.status = 500
            modbus.state.holding[HOLDING_BASE] = 0xFFFF  # 65535 kW: far above capacity
            broken = await wait_status(kube, "power-it-http", "Unknown")
            feed_condition = condition(broken, "PowerFeedHealthy")
            assert feed_condition["reason"] == "FeedHttpStatus"
            assert f"http feed {meter.power_url}: HTTP 500" in feed_condition["message"]
            assert broken["power"]["availableKw"] == 0
            absurd = await wait_status(kube, "power-it-modbus", "Unknown")
            assert condition(absurd, "PowerFeedHealthy")["reason"] == "FeedAbsurd"
            assert "65535 kW is above 1.5 x" in condition(absurd, "PowerFeedHealthy")["message"]

            meter.state.status = 200
            meter.state.document = {"site": {"loadKw": 12000, "capacityKw": 20000}}
            modbus.state.holding[HOLDING_BASE] = 12000
            for name in sites:
                await wait_status(kube, name, "Ready", availableKw=expected)
    finally:
        for name in sites:
            kube.delete(name)
