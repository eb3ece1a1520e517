"""Manifests for testing the API: one valid object per kind, and a table of single
defects and valid edge cases built from them.

The same table runs offline against the models (tests/unit/api) and against the real
API server with the generated CRDs (tests/integration/test_api_server.py): every
defect must be rejected by both, with a message that names the field.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

API_VERSION = "compute.cango.io/v1alpha1"
DELETE = object()

SITE: dict[str, Any] = {
    "apiVersion": API_VERSION,
    "kind": "Site",
    "metadata": {"name": "edge-site"},
    "spec": {
        "region": "north-america",
        "power": {
            "capacityKw": 1000,
            "reserveKw": 50,
            "feed": {"type": "http", "url": "http://127.0.0.1:9/power"},
        },
        "mining": {"loadKw": 600, "curtailableKw": 300},
        "latencyMs": {"north-america": 20},
    },
}
GPUNODE: dict[str, Any] = {
    "apiVersion": API_VERSION,
    "kind": "GpuNode",
    "metadata": {"name": "edge-node"},
    "spec": {
        "site": "edge-site",
        "nodeName": "edge-node",
        "gpu": {"model": "H100-80GB", "count": 8, "memoryMiB": 81559, "maxPowerW": 700},
    },
}
JOB: dict[str, Any] = {
    "apiVersion": API_VERSION,
    "kind": "InferenceJob",
    "metadata": {"name": "edge-job", "namespace": "default"},
    "spec": {
        "replicas": 2,
        "container": {"image": "registry.invalid/x:1", "env": [{"name": "A", "value": "b"}]},
        "placement": {"clientRegion": "north-america", "maxLatencyMs": 50},
    },
}
BASES = {"Site": SITE, "GpuNode": GPUNODE, "InferenceJob": JOB}


@dataclass(frozen=True)
class Case:
    """One manifest: a base object with some fields set (or DELETEd)."""

    id: str
    kind: str
    changes: dict[str, Any] = field(default_factory=dict)
    #: For a defect: the field path the rejection must name.
    field: str = ""
    #: For a defect of a cross-field rule: the rule's message, which the rejection shows.
    says: str = ""

    def manifest(self) -> dict[str, Any]:
        doc = copy.deepcopy(BASES[self.kind])
        for path, value in self.changes.items():
            _set(doc, path.split("."), value)
        return doc


def _set(doc: Any, path: list[str], value: Any) -> None:
    for part in path[:-1]:
        doc = doc[int(part)] if isinstance(doc, list) else doc.setdefault(part, {})
    last = path[-1]
    if isinstance(doc, list):
        doc[int(last)] = value
    elif value is DELETE:
        del doc[last]
    else:
        doc[last] = value


def _regions(n: int) -> dict[str, int]:
    return {f"region-{i}": 10 for i in range(n)}


MODBUS = {"type": "modbus", "host": "meter.local", "register": 100}
PROMETHEUS = {"type": "prometheus", "url": "http://127.0.0.1:9090", "query": "sum(site_kw)"}
STATIC = {"type": "static"}
FEED = "spec.power.feed"


def _feed_case(
    id_: str, value: Any, *, on: dict[str, Any] | None = None, extra: dict[str, Any] | None = None
) -> Case:
    """A Site whose feed (the base http feed, or ``on``) carries one bad field.

    The id names the field: ``feed-<field>-<what is wrong>``; the rejection must name
    ``spec.power.feed.<field>``. ``feed-<field>-on-<type>`` is a field of another feed
    type: the rejection must also give the rule's message."""
    name = id_.split("-")[1]
    base = on if on is not None else SITE["spec"]["power"]["feed"]
    feed = {**base, **(extra or {}), name: value}
    says = ""
    if "-on-" in id_:
        types = "http and prometheus" if name in ("url", "secretRef") else _TYPE_OF[name]
        says = f"{name} applies only to {types} feeds"
    return Case(f"site-{id_}", S, {FEED: feed}, f"{FEED}.{name}", says)


_TYPE_OF = {
    **dict.fromkeys(
        ("jsonPath", "capacityPath", "curtailedPath", "pricePath", "timestampPath"), "http"
    ),
    **dict.fromkeys(("query", "capacityQuery", "curtailedQuery", "priceQuery"), "prometheus"),
    **dict.fromkeys(("host", "register", "capacityRegister", "curtailedRegister"), "modbus"),
}


S, G, J = "Site", "GpuNode", "InferenceJob"
MALFORMED: list[Case] = [
    # Site: required fields, types, ranges
    Case("site-missing-region", S, {"spec.region": DELETE}, "spec.region"),
    Case("site-missing-power", S, {"spec.power": DELETE}, "spec.power"),
    Case("site-missing-capacity", S, {"spec.power.capacityKw": DELETE}, "spec.power.capacityKw"),
    Case("site-capacity-zero", S, {"spec.power.capacityKw": 0}, "spec.power.capacityKw"),
    Case("site-capacity-string", S, {"spec.power.capacityKw": "1000"}, "spec.power.capacityKw"),
    Case("site-capacity-in-watts", S, {"spec.power.capacityKw": 2e6}, "spec.power.capacityKw"),
    Case("site-reserve-negative", S, {"spec.power.reserveKw": -1}, "spec.power.reserveKw"),
    Case("site-pue-below-1", S, {"spec.power.pue": 0.9}, "spec.power.pue"),
    Case("site-pue-above-3", S, {"spec.power.pue": 3.5}, "spec.power.pue"),
    Case("site-power-not-object", S, {"spec.power": "1000"}, "spec.power"),
    Case("site-region-not-dns-label", S, {"spec.region": "North America"}, "spec.region"),
    Case("site-region-too-long", S, {"spec.region": "r" * 64}, "spec.region"),
    Case("site-cordoned-string", S, {"spec.cordoned": "yes"}, "spec.cordoned"),
    Case("site-price-too-high", S, {"spec.energyPriceUsdPerMwh": 1e6}, "spec.energyPriceUsdPerMwh"),
    Case("site-unknown-field", S, {"spec.power.capcityKw": 5}, "spec.power.capcityKw"),
    Case("site-name-too-long", S, {"metadata.name": "s" * 64}, "metadata.name"),
    # Site: feed
    Case("site-feed-unknown-type", S, {"spec.power.feed.type": "ftp"}, "spec.power.feed.type"),
    Case("site-feed-url-not-http", S, {"spec.power.feed.url": "ftp://x"}, "spec.power.feed.url"),
    Case(
        "site-feed-url-with-credentials",
        S,
        {"spec.power.feed.url": "http://user:pass@127.0.0.1:9/power"},
        "spec.power.feed.url",
        says="url must not carry credentials; use secretRef",
    ),
    Case(
        "site-feed-url-too-long",
        S,
        {"spec.power.feed.url": "http://" + "a" * 2048},
        "spec.power.feed.url",
    ),
    Case(
        "site-feed-port-out-of-range",
        S,
        {"spec.power.feed": {**MODBUS, "port": 70000}},
        "spec.power.feed.port",
    ),
    Case(
        "site-feed-secret-ref-without-name",
        S,
        {"spec.power.feed.secretRef": {}},
        "spec.power.feed.secretRef.name",
    ),
    # Site: feed fields of every feed type (wrong type, out of range, malformed)
    _feed_case("feed-timeoutSeconds-string", "5s"),
    _feed_case("feed-timeoutSeconds-zero", 0),
    _feed_case(
        "feed-timeoutSeconds-above-60", 61, extra={"intervalSeconds": 120, "staleAfterSeconds": 600}
    ),
    _feed_case("feed-retries-negative", -1),
    _feed_case("feed-retries-above-10", 11),
    _feed_case("feed-retries-fraction", 1.5),
    _feed_case("feed-loadScope-unknown", "grid"),
    _feed_case("feed-loadScope-not-string", True, on=MODBUS),
    # Site: http feed fields
    _feed_case("feed-capacityPath-not-string", 5),
    _feed_case("feed-curtailedPath-double-dot", "grid..curtailed"),
    _feed_case("feed-pricePath-too-long", "p" * 257),
    _feed_case("feed-timestampPath-blank", "  "),
    _feed_case("feed-jsonPath-unclosed-index", "meters[0.kw"),
    # Site: prometheus feed fields
    _feed_case("feed-capacityQuery-blank", " ", on=PROMETHEUS),
    _feed_case("feed-curtailedQuery-not-string", 1, on=PROMETHEUS),
    _feed_case("feed-priceQuery-too-long", "x" * 4097, on=PROMETHEUS),
    # Site: modbus feed fields
    _feed_case("feed-wordOrder-unknown", "middle", on=MODBUS),
    _feed_case("feed-capacityRegister-above-65535", 65536, on=MODBUS),
    _feed_case("feed-curtailedRegister-string", "7", on=MODBUS),
    _feed_case("feed-curtailedRegister-negative", -1, on=MODBUS),
    # Site: a field of another feed type
    _feed_case("feed-capacityPath-on-prometheus", "site.capacityKw", on=PROMETHEUS),
    _feed_case("feed-curtailedPath-on-modbus", "grid.curtailed", on=MODBUS),
    _feed_case("feed-pricePath-on-static", "price", on=STATIC),
    _feed_case("feed-timestampPath-on-prometheus", "time", on=PROMETHEUS),
    _feed_case("feed-jsonPath-on-modbus", "site.loadKw", on=MODBUS),
    _feed_case("feed-capacityQuery-on-http", "sum(cap_kw)"),
    _feed_case("feed-curtailedQuery-on-modbus", "max(curtailed)", on=MODBUS),
    _feed_case("feed-priceQuery-on-static", "price_usd_per_mwh", on=STATIC),
    _feed_case("feed-query-on-http", "sum(site_kw)"),
    _feed_case("feed-capacityRegister-on-http", 3061),
    _feed_case("feed-curtailedRegister-on-prometheus", 3063, on=PROMETHEUS),
    _feed_case("feed-host-on-prometheus", "meter.local", on=PROMETHEUS),
    _feed_case("feed-register-on-static", 100, on=STATIC),
    _feed_case("feed-url-on-modbus", "http://meter.local/power", on=MODBUS),
    _feed_case("feed-secretRef-on-modbus", {"name": "meter-creds"}, on=MODBUS),
    # Site: cross-field rules
    Case(
        "site-feed-timeoutSeconds-above-interval",
        S,
        {f"{FEED}.intervalSeconds": 10, f"{FEED}.timeoutSeconds": 12},
        f"{FEED}.timeoutSeconds",
        "timeoutSeconds must not exceed intervalSeconds",
    ),
    Case("site-reserve-equals-capacity", S, {"spec.power.reserveKw": 1000}, "spec.power.reserveKw"),
    Case("site-feed-http-without-url", S, {"spec.power.feed.url": DELETE}, "spec.power.feed.url"),
    Case(
        "site-feed-prometheus-without-query",
        S,
        {"spec.power.feed.type": "prometheus"},
        "spec.power.feed.query",
    ),
    Case(
        "site-feed-modbus-without-host",
        S,
        {"spec.power.feed": {"type": "modbus", "register": 1}},
        "spec.power.feed.host",
    ),
    Case(
        "site-feed-modbus-without-register",
        S,
        {"spec.power.feed": {"type": "modbus", "host": "meter.local"}},
        "spec.power.feed.register",
    ),
    Case(
        "site-feed-stale-not-after-interval",
        S,
        {"spec.power.feed.intervalSeconds": 60, "spec.power.feed.staleAfterSeconds": 60},
        "spec.power.feed.staleAfterSeconds",
    ),
    Case(
        "site-curtailable-above-load",
        S,
        {"spec.mining.curtailableKw": 700},
        "spec.mining.curtailableKw",
    ),
    Case("site-mining-above-capacity", S, {"spec.mining.loadKw": 1500}, "spec.mining.loadKw"),
    Case(
        "site-miner-host-name",
        S,
        {"spec.mining.miners": [{"firmware": "luxos", "addresses": ["miner-1"]}]},
        "spec.mining.miners[0].addresses[0]",
    ),
    Case(
        "site-miner-listed-twice",
        S,
        {"spec.mining.miners": [{"firmware": "luxos", "addresses": ["10.0.0.1", "10.0.0.1"]}]},
        "spec.mining.miners[0].addresses",
    ),
    Case(
        "site-miner-unknown-firmware",
        S,
        {"spec.mining.miners": [{"firmware": "braiins", "addresses": ["10.0.0.1"]}]},
        "spec.mining.miners[0].firmware",
    ),
    Case(
        "site-epic-without-credentials",
        S,
        {"spec.mining.miners": [{"firmware": "epic", "addresses": ["10.0.0.1"]}]},
        "spec.mining.miners[0].credentialsSecretRef",
        says="credentialsSecretRef is required for epic miners",
    ),
    Case(
        "site-too-many-miners-in-all",
        S,
        {
            "spec.mining.miners": [
                {
                    "firmware": "luxos",
                    "addresses": [f"10.{g}.{i // 250}.{i % 250 + 1}" for i in range(2600)],
                }
                for g in (1, 2)
            ]
        },
        "spec.mining.miners",
        says="at most 5000 miners in all groups together",
    ),
    Case(
        "site-ramp-batch-zero",
        S,
        {"spec.mining.ramp": {"batchSize": 0}},
        "spec.mining.ramp.batchSize",
    ),
    Case(
        "site-latitude-without-longitude",
        S,
        {"spec.location": {"latitude": 10.5}},
        "spec.location.longitude",
    ),
    Case(
        "site-longitude-without-latitude",
        S,
        {"spec.location": {"longitude": -97.0}},
        "spec.location.latitude",
    ),
    Case(
        "site-latitude-out-of-range",
        S,
        {"spec.location": {"latitude": 91, "longitude": 0}},
        "spec.location.latitude",
    ),
    # Site: latency map
    Case(
        "site-latency-not-integer",
        S,
        {"spec.latencyMs.north-america": "fast"},
        "spec.latencyMs.north-america",
    ),
    Case(
        "site-latency-negative",
        S,
        {"spec.latencyMs.north-america": -5},
        "spec.latencyMs.north-america",
    ),
    Case("site-latency-too-many-regions", S, {"spec.latencyMs": _regions(65)}, "spec.latencyMs"),
    # GpuNode
    Case("gn-missing-site", G, {"spec.site": DELETE}, "spec.site"),
    Case("gn-missing-node-name", G, {"spec.nodeName": DELETE}, "spec.nodeName"),
    Case("gn-missing-gpu", G, {"spec.gpu": DELETE}, "spec.gpu"),
    Case("gn-missing-memory", G, {"spec.gpu.memoryMiB": DELETE}, "spec.gpu.memoryMiB"),
    Case("gn-gpu-count-zero", G, {"spec.gpu.count": 0}, "spec.gpu.count"),
    Case("gn-gpu-count-17", G, {"spec.gpu.count": 17}, "spec.gpu.count"),
    Case("gn-gpu-count-fraction", G, {"spec.gpu.count": 2.5}, "spec.gpu.count"),
    Case("gn-max-power-too-high", G, {"spec.gpu.maxPowerW": 6000}, "spec.gpu.maxPowerW"),
    Case("gn-memory-in-bytes", G, {"spec.gpu.memoryMiB": 85_520_809_984}, "spec.gpu.memoryMiB"),
    Case("gn-model-with-space", G, {"spec.gpu.model": "H100 80GB"}, "spec.gpu.model"),
    Case("gn-model-too-long", G, {"spec.gpu.model": "H" * 65}, "spec.gpu.model"),
    Case("gn-overhead-negative", G, {"spec.overheadW": -1}, "spec.overheadW"),
    Case("gn-unschedulable-string", G, {"spec.unschedulable": "no"}, "spec.unschedulable"),
    Case("gn-node-name-invalid", G, {"spec.nodeName": "Node_A"}, "spec.nodeName"),
    Case("gn-site-too-long", G, {"spec.site": "s" * 64}, "spec.site"),
    Case("gn-unknown-field", G, {"spec.gpus": 8}, "spec.gpus"),
    # InferenceJob: replicas, container
    Case("ij-replicas-zero", J, {"spec.replicas": 0}, "spec.replicas"),
    Case("ij-replicas-too-many", J, {"spec.replicas": 1001}, "spec.replicas"),
    Case("ij-replicas-string", J, {"spec.replicas": "4"}, "spec.replicas"),
    Case("ij-missing-container", J, {"spec.container": DELETE}, "spec.container"),
    Case("ij-missing-image", J, {"spec.container.image": DELETE}, "spec.container.image"),
    Case("ij-image-too-long", J, {"spec.container.image": "i" * 513}, "spec.container.image"),
    Case("ij-args-too-many", J, {"spec.container.args": ["-v"] * 65}, "spec.container.args"),
    Case("ij-arg-too-long", J, {"spec.container.args": ["a" * 4097]}, "spec.container.args[0]"),
    Case(
        "ij-env-duplicate-name",
        J,
        {"spec.container.env": [{"name": "A", "value": "1"}, {"name": "A", "value": "2"}]},
        "spec.container.env",
    ),
    Case(
        "ij-env-value-and-value-from",
        J,
        {"spec.container.env.0.valueFrom": {"secretKeyRef": {"name": "s", "key": "k"}}},
        "spec.container.env[0].valueFrom",
    ),
    Case("ij-env-bad-name", J, {"spec.container.env.0.name": "1 A"}, "spec.container.env[0].name"),
    Case("ij-port-zero", J, {"spec.container.port": 0}, "spec.container.port"),
    Case(
        "ij-cpu-fraction-as-number",
        J,
        {"spec.container.resources": {"cpu": 0.5}},
        "spec.container.resources.cpu",
    ),
    Case(
        "ij-memory-not-a-quantity",
        J,
        {"spec.container.resources": {"memory": "lots"}},
        "spec.container.resources.memory",
    ),
    # InferenceJob: gpu, placement, scheduling
    Case("ij-gpu-count-17", J, {"spec.gpu": {"count": 17}}, "spec.gpu.count"),
    Case(
        "ij-gpu-models-duplicate",
        J,
        {"spec.gpu": {"models": ["H100-80GB", "H100-80GB"]}},
        "spec.gpu.models",
    ),
    Case(
        "ij-gpu-models-too-many",
        J,
        {"spec.gpu": {"models": [f"M{i}" for i in range(17)]}},
        "spec.gpu.models",
    ),
    Case(
        "ij-min-sites-above-replicas", J, {"spec.placement.minSites": 3}, "spec.placement.minSites"
    ),
    Case(
        "ij-max-latency-without-region",
        J,
        {"spec.placement.clientRegion": DELETE},
        "spec.placement.clientRegion",
    ),
    Case(
        "ij-latency-objective-without-region",
        J,
        {"spec.placement": {"objective": "latency"}},
        "spec.placement.clientRegion",
    ),
    Case(
        "ij-unknown-objective",
        J,
        {"spec.placement.objective": "fastest"},
        "spec.placement.objective",
    ),
    Case(
        "ij-max-latency-zero", J, {"spec.placement.maxLatencyMs": 0}, "spec.placement.maxLatencyMs"
    ),
    Case(
        "ij-allowed-regions-too-many",
        J,
        {"spec.placement.allowedRegions": [f"r{i}" for i in range(65)]},
        "spec.placement.allowedRegions",
    ),
    Case(
        "ij-max-replicas-per-site-negative",
        J,
        {"spec.placement.maxReplicasPerSite": -1},
        "spec.placement.maxReplicasPerSite",
    ),
    Case("ij-priority-negative", J, {"spec.priority": -1}, "spec.priority"),
    Case("ij-preemptible-string", J, {"spec.preemptible": "true"}, "spec.preemptible"),
    Case("ij-estimated-power-zero", J, {"spec.estimatedPowerW": 0}, "spec.estimatedPowerW"),
    Case("ij-name-not-dns-1035", J, {"metadata.name": "1job"}, "metadata.name"),
    Case("ij-unknown-field", J, {"spec.replica": 3}, "spec.replica"),
    # InferenceJob: endpoint
    Case("ij-endpoint-path-relative", J, {"spec.endpoint": {"path": "v1"}}, "spec.endpoint.path"),
    Case(
        "ij-endpoint-path-double-slash",
        J,
        {"spec.endpoint": {"path": "/v1//chat"}},
        "spec.endpoint.path",
    ),
    Case(
        "ij-endpoint-path-dot-dot",
        J,
        {"spec.endpoint": {"path": "/v1/../admin"}},
        "spec.endpoint.path",
        says="must not hold a '.' or '..' segment",
    ),
    Case(
        "ij-endpoint-hostname-upper-case",
        J,
        {"spec.endpoint": {"hostname": "Llama.example.com"}},
        "spec.endpoint.hostname",
    ),
    Case(
        "ij-endpoint-hostname-wildcard",
        J,
        {"spec.endpoint": {"hostname": "*.example.com"}},
        "spec.endpoint.hostname",
    ),
]

VALID_EDGES: list[Case] = [
    Case(
        "site-minimums",
        S,
        {
            "metadata.name": "edge-site-min",
            "spec.power": {"capacityKw": 0.001, "reserveKw": 0, "pue": 1.0},
            "spec.mining": {
                "loadKw": 0,
                "curtailableKw": 0,
                "miners": [
                    {"firmware": "luxos", "addresses": ["10.0.0.1", "[::1]:14028"]},
                    {
                        "firmware": "epic",
                        "addresses": ["10.0.0.2"],
                        "credentialsSecretRef": {"name": "epic-pass"},
                    },
                ],
                "ramp": {"batchSize": 1, "batchIntervalSeconds": 0},
            },
            "spec.latencyMs": {"north-america": 0},
            "spec.energyPriceUsdPerMwh": -10000,
            "spec.location": {"latitude": -90, "longitude": -180},
        },
    ),
    Case(
        "site-maximums",
        S,
        {
            "metadata.name": "s" * 63,
            "spec.region": "r" * 63,
            "spec.power": {
                "capacityKw": 1_000_000,
                "reserveKw": 999_999.5,
                "pue": 3.0,
                "feed": {
                    **MODBUS,
                    "port": 65535,
                    "unitId": 255,
                    "register": 65535,
                    "capacityRegister": 65535,
                    "curtailedRegister": 65535,
                    "intervalSeconds": 3600,
                    "staleAfterSeconds": 86400,
                    "timeoutSeconds": 60,
                    "retries": 10,
                },
            },
            "spec.mining": {"loadKw": 1_000_000, "curtailableKw": 1_000_000},
            "spec.latencyMs": {f"region-{i}": 60000 for i in range(64)},
            "spec.energyPriceUsdPerMwh": 100000,
            "spec.location": {"country": "US", "latitude": 90, "longitude": 180},
        },
    ),
    Case(
        "gn-minimums",
        G,
        {
            "metadata.name": "edge-node-min",
            "spec.gpu": {"model": "X", "count": 1, "memoryMiB": 1, "maxPowerW": 1},
            "spec.overheadW": 0,
        },
    ),
    Case(
        "gn-maximums",
        G,
        {
            "metadata.name": "edge-node-max",
            "spec.site": "s" * 63,
            "spec.nodeName": "n" * 253,
            "spec.gpu": {"model": "H" * 64, "count": 16, "memoryMiB": 2_097_152, "maxPowerW": 5000},
            "spec.overheadW": 100_000,
        },
    ),
    Case(
        "ij-minimums",
        J,
        {
            "metadata.name": "j",
            "spec": {"replicas": 1, "container": {"image": "x", "port": 1}, "priority": 0},
        },
    ),
    Case(
        "ij-maximums",
        J,
        {
            "metadata.name": "j" * 63,
            "spec.replicas": 1000,
            "spec.container": {
                "image": "i" * 512,
                "args": ["a" * 4096] * 64,
                "env": [{"name": f"V{i}", "value": "x"} for i in range(64)],
                "port": 65535,
                "resources": {"cpu": 64, "memory": "512Gi"},
            },
            "spec.gpu": {
                "count": 16,
                "models": [f"M{i}" for i in range(16)],
                "minMemoryMiB": 2_097_152,
            },
            "spec.estimatedPowerW": 100_000,
            "spec.placement": {
                "clientRegion": "north-america",
                "maxLatencyMs": 60000,
                "minSites": 100,
                "maxReplicasPerSite": 1000,
                "allowedRegions": [f"r{i}" for i in range(64)],
                "objective": "cost",
            },
            "spec.priority": 1_000_000,
            "spec.preemptible": True,
        },
    ),
    Case(
        "ij-endpoint-paths-with-dots-in-segments",
        J,
        {
            "metadata.name": "edge-job-endpoint",
            "spec.endpoint": {"path": "/v1.2/chat...x/", "hostname": "l.a-b.example.com"},
        },
    ),
    Case("ij-endpoint-root", J, {"metadata.name": "edge-job-root", "spec.endpoint": {}}),
    Case(
        "ij-zero-means-no-minimum-and-no-limit",
        J,
        {
            "metadata.name": "edge-job-zeros",
            "spec.gpu": {"count": 1, "minMemoryMiB": 0},
            "spec.placement": {"maxReplicasPerSite": 0},
        },
    ),
    Case(
        "ij-cross-field-boundaries",
        J,
        {
            "metadata.name": "edge-job-bounds",
            "spec.replicas": 3,
            "spec.placement": {
                "clientRegion": "south-america",
                "minSites": 3,
                "objective": "latency",
            },
            "spec.container.env": [
                {"name": "TOKEN", "valueFrom": {"secretKeyRef": {"name": "hf", "key": "token"}}}
            ],
        },
    ),
    Case(
        "site-cross-field-boundaries",
        S,
        {
            "metadata.name": "edge-site-bounds",
            "spec.power.reserveKw": 999.999,
            "spec.mining": {"loadKw": 1000, "curtailableKw": 1000},
            "spec.power.feed": {
                "type": "prometheus",
                "url": "http://127.0.0.1:9090",
                "query": "sum(site_power_kw)",
                "intervalSeconds": 10,
                "staleAfterSeconds": 11,
                "timeoutSeconds": 10,
            },
        },
    ),
    Case(
        "site-feed-minimums",
        S,
        {
            "metadata.name": "edge-site-feed-min",
            FEED: {
                "type": "static",
                "intervalSeconds": 1,
                "staleAfterSeconds": 2,
                "timeoutSeconds": 0.001,
                "retries": 0,
            },
        },
    ),
    Case(
        "site-http-feed-every-field",
        S,
        {
            "metadata.name": "edge-site-http",
            FEED: {
                "type": "http",
                "url": "https://meter.site.local/api/v1/power",
                "jsonPath": "$.site.meters[0].kw",
                "capacityPath": "grid.0.limit kw",
                "curtailedPath": "[1].curtailed",
                "pricePath": "p" * 256,
                "timestampPath": "site.$time",
                "loadScope": "mining",
                "secretRef": {"name": "meter-creds", "namespace": "meters"},
            },
        },
    ),
    Case(
        "site-prometheus-feed-every-field",
        S,
        {
            "metadata.name": "edge-site-prometheus",
            FEED: {
                **PROMETHEUS,
                "capacityQuery": "min(grid_limit_kw)",
                "curtailedQuery": "max(grid_curtailed)",
                "priceQuery": "x" * 4096,
                "loadScope": "site",
                "retries": 0,
            },
        },
    ),
    Case(
        "site-modbus-feed-every-field",
        S,
        {
            "metadata.name": "edge-site-modbus",
            FEED: {
                **MODBUS,
                "registerType": "input",
                "dataType": "float32",
                "wordOrder": "little",
                "scale": 0.001,
                "capacityRegister": 0,
                "curtailedRegister": 1,
                "loadScope": "mining",
            },
        },
    ),
]
