"""The generated CRDs on the real API server: installed and Established, the examples
apply and read back, every malformed manifest of the table is rejected naming its field,
valid edge cases are accepted, and kubectl shows what a person asks first."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from cango_operator.api import GROUP, RESOURCES, VERSION, Resource, load_manifests, parse_resource
from cango_operator.api.crd import crd_name
from cango_operator.devcluster import LocalCluster
from tests.api_manifests import BASES, MALFORMED, VALID_EDGES, Case

pytestmark = pytest.mark.cluster

REPO = Path(__file__).parents[2]
EXAMPLES = [REPO / "examples" / f for f in ("fleet.yaml", "site-feeds.yaml", "jobs.yaml")]
BY_KIND: dict[str, type[Resource]] = {r.KIND: r for r in RESOURCES}


def _wait_for(what: str, check: Callable[[], Any], timeout: float = 60) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.5)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


@pytest.fixture(scope="module")
def crds(cluster: LocalCluster) -> None:
    cluster.kubectl("apply", "--server-side", "--force-conflicts", "-f", str(REPO / "crds"))
    names = [f"crd/{crd_name(r)}" for r in RESOURCES]
    cluster.kubectl("wait", "--for=condition=Established", "--timeout=60s", *names)


@pytest.fixture(scope="module")
def custom(api_client: Any, crds: None) -> Any:
    from kubernetes import client

    return client.CustomObjectsApi(api_client)


def _create(custom: Any, doc: dict[str, Any], dry_run: bool) -> dict[str, Any]:
    resource = BY_KIND[doc["kind"]]
    options = {"dry_run": "All" if dry_run else None, "field_validation": "Strict"}
    if resource.NAMESPACED:
        namespace = doc["metadata"].get("namespace", "default")
        created: dict[str, Any] = custom.create_namespaced_custom_object(
            GROUP, VERSION, namespace, resource.PLURAL, doc, **options
        )
    else:
        created = custom.create_cluster_custom_object(
            GROUP, VERSION, resource.PLURAL, doc, **options
        )
    return created


def _delete(custom: Any, doc: dict[str, Any]) -> None:
    resource = BY_KIND[doc["kind"]]
    name = doc["metadata"]["name"]
    if resource.NAMESPACED:
        namespace = doc["metadata"].get("namespace", "default")
        custom.delete_namespaced_custom_object(GROUP, VERSION, namespace, resource.PLURAL, name)
    else:
        custom.delete_cluster_custom_object(GROUP, VERSION, resource.PLURAL, name)


def _rejection(custom: Any, doc: dict[str, Any]) -> str:
    from kubernetes.client.exceptions import ApiException

    with pytest.raises(ApiException) as exc:
        _create(custom, doc, dry_run=True)
    assert exc.value.status in (400, 422), exc.value.body
    message: str = json.loads(exc.value.body)["message"]
    return message


class TestInstall:
    def test_the_crds_are_established_and_served(self, cluster: LocalCluster, crds: None) -> None:
        out = json.loads(
            cluster.kubectl("api-resources", "--api-group", GROUP, "-o", "json").stdout
        )
        served = {r["name"]: r for r in out["resources"]}
        assert set(served) >= {"sites", "gpunodes", "inferencejobs"}
        assert served["sites"]["shortNames"] == ["st"]
        assert served["inferencejobs"]["namespaced"] is True
        assert "cango" in served["gpunodes"]["categories"]

    def test_the_base_manifests_of_the_table_are_accepted(self, custom: Any) -> None:
        for doc in BASES.values():
            assert _create(custom, doc, dry_run=True)["metadata"]["name"]


class TestRejection:
    @pytest.mark.parametrize("case", MALFORMED, ids=lambda c: c.id)
    def test_each_defect_is_rejected_naming_the_field(self, custom: Any, case: Case) -> None:
        message = _rejection(custom, case.manifest())
        assert case.field in message, message
        assert case.says in message, message

    def test_a_status_that_breaks_the_schema_is_rejected(
        self, cluster: LocalCluster, custom: Any
    ) -> None:
        from kubernetes.client.exceptions import ApiException

        doc = {**BASES["GpuNode"], "metadata": {"name": "status-check"}}
        _create(custom, doc, dry_run=False)
        try:
            with pytest.raises(ApiException) as exc:
                custom.patch_cluster_custom_object_status(
                    GROUP, VERSION, "gpunodes", "status-check", {"status": {"phase": "Exploded"}}
                )
            assert "status.phase" in json.loads(exc.value.body)["message"]
        finally:
            _delete(custom, doc)


class TestSiteStatus:
    def test_gpu_excess_is_kept_and_a_negative_one_is_refused(
        self, custom: Any, examples: None
    ) -> None:
        from kubernetes.client.exceptions import ApiException

        def patch(kw: float) -> dict[str, Any]:
            body = {"status": {"power": {"gpuExcessKw": kw}}}
            got: dict[str, Any] = custom.patch_cluster_custom_object_status(
                GROUP, VERSION, "sites", "ar-neuquen-1", body
            )
            return got

        assert patch(120.5)["status"]["power"]["gpuExcessKw"] == 120.5
        with pytest.raises(ApiException) as exc:
            patch(-1)
        assert "status.power.gpuExcessKw" in json.loads(exc.value.body)["message"]


@pytest.fixture(scope="module")
def edge_objects(custom: Any) -> Iterator[dict[str, tuple[dict[str, Any], dict[str, Any]]]]:
    """Each valid edge case, created for real: id -> (sent, read back)."""
    made: dict[str, tuple[dict[str, Any], dict[str, Any]]] = {}
    try:
        for case in VALID_EDGES:
            sent = case.manifest()
            made[case.id] = (sent, _create(custom, sent, dry_run=False))
        yield made
    finally:
        for sent, _ in made.values():
            _delete(custom, sent)


class TestValidEdgeCases:
    @pytest.mark.parametrize("case", VALID_EDGES, ids=lambda c: c.id)
    def test_each_edge_is_accepted_and_reads_back_as_the_models_read_it(
        self, edge_objects: dict[str, tuple[dict[str, Any], dict[str, Any]]], case: Case
    ) -> None:
        sent, stored = edge_objects[case.id]
        # The API server's defaults and the models' defaults are the same defaults.
        assert parse_resource(stored).spec == parse_resource(sent).spec


@pytest.fixture(scope="module")
def examples(cluster: LocalCluster, crds: None) -> Iterator[None]:
    files = [arg for path in EXAMPLES for arg in ("-f", str(path))]
    cluster.kubectl("apply", *files)
    try:
        yield
    finally:
        cluster.kubectl("delete", "--wait=false", "--ignore-not-found", *files)


def _get(cluster: LocalCluster, *args: str) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = json.loads(cluster.kubectl("get", *args, "-o", "json").stdout)[
        "items"
    ]
    return items


class TestExamples:
    def test_the_examples_apply_and_read_back_as_written(
        self, cluster: LocalCluster, examples: None
    ) -> None:
        written = load_manifests(EXAMPLES)
        got = {
            (o["kind"], o["metadata"]["name"]): parse_resource(o)
            for o in _get(cluster, "sites,gpunodes") + _get(cluster, "ij", "-n", "tenant-acme")
        }
        for obj in [*written.sites, *written.gpunodes, *written.jobs]:
            assert got[(obj.kind, obj.name)].spec == obj.spec, obj.name
        assert (len(written.sites), len(written.gpunodes), len(written.jobs)) == (6, 4, 3)
        assert len({s.spec.region for s in written.sites}) == 2


def _table(output: str) -> dict[str, dict[str, str]]:
    """Parse `kubectl get` tables: NAME -> column -> cell, cut at the header's positions."""
    rows: dict[str, dict[str, str]] = {}
    for block in output.strip().split("\n\n"):
        header, *lines = block.splitlines()
        names = re.split(r"\s{2,}", header.strip())
        starts, pos = [], 0
        for name in names:
            pos = header.index(name, pos)
            starts.append(pos)
            pos += len(name)
        bounds = list(zip(starts, [*starts[1:], None], strict=True))
        for line in lines:
            row = {n: line[a:b].strip() for n, (a, b) in zip(names, bounds, strict=True)}
            rows[row["NAME"]] = row
    return rows


@pytest.fixture(scope="module")
def with_status(custom: Any, examples: None) -> None:
    """A status as the operator would write it, through the status subresource."""
    custom.patch_cluster_custom_object_status(
        GROUP,
        VERSION,
        "sites",
        "tx-rockdale-1",
        {"status": {"phase": "Ready", "power": {"availableKw": 3280}, "gpus": {"free": 13}}},
    )
    custom.patch_cluster_custom_object_status(
        GROUP,
        VERSION,
        "gpunodes",
        "tx-rockdale-1-n001",
        {"status": {"phase": "Ready", "powerW": 3400, "allocatedGpus": 3}},
    )
    custom.patch_namespaced_custom_object_status(
        GROUP,
        VERSION,
        "tenant-acme",
        "inferencejobs",
        "llama-chat",
        {
            "status": {
                "phase": "Running",
                "replicas": 4,
                "readyReplicas": 3,
                "sites": ["tx-abilene-2", "tx-rockdale-1"],
                "latencyMs": 31,
            }
        },
    )


class TestKubectlShowsWhatAPersonAsksFirst:
    def test_get_cango_lists_all_three_kinds(self, cluster: LocalCluster, examples: None) -> None:
        out = cluster.kubectl("get", "cango", "-A").stdout
        assert "site.compute.cango.io/tx-rockdale-1" in out
        assert "gpunode.compute.cango.io/tx-rockdale-1-n001" in out
        assert "inferencejob.compute.cango.io/llama-chat" in out

    def test_get_st_gn_ij_shows_the_columns_and_their_values(
        self, cluster: LocalCluster, with_status: None
    ) -> None:
        rows = _table(cluster.kubectl("get", "st,gn,ij", "-A").stdout)
        site = rows["site.compute.cango.io/tx-rockdale-1"]
        assert (site["REGION"], site["PHASE"], site["AVAILABLE KW"], site["FREE GPUS"]) == (
            "north-america",
            "Ready",
            "3280",
            "13",
        )
        node = rows["gpunode.compute.cango.io/tx-rockdale-1-n001"]
        assert (node["SITE"], node["MODEL"], node["GPUS"], node["PHASE"], node["POWER W"]) == (
            "tx-rockdale-1",
            "H100-80GB",
            "8",
            "Ready",
            "3400",
        )
        job = rows["inferencejob.compute.cango.io/llama-chat"]
        assert (job["PHASE"], job["READY"], job["REPLICAS"], job["LATENCY"]) == (
            "Running",
            "3",
            "4",
            "31",
        )
        assert "tx-abilene-2" in job["SITES"] and "tx-rockdale-1" in job["SITES"]

    def test_explain_shows_the_field_descriptions(self, cluster: LocalCluster, crds: None) -> None:
        def explained() -> str | None:
            proc = cluster.kubectl("explain", "site.spec.power", check=False)
            return proc.stdout if proc.returncode == 0 and "capacityKw" in proc.stdout else None

        out = _wait_for("the CRD's OpenAPI to be published", explained, timeout=60)
        assert "Power budget of the site" in out
        assert "Contracted / interconnect capacity of the site in kW" in out
        assert "reserveKw" in out and "pue" in out and "feed" in out
        feed = cluster.kubectl("explain", "site.spec.power.feed").stdout
        for field in ("timeoutSeconds", "loadScope", "capacityPath", "priceQuery", "wordOrder"):
            assert field in feed
        scope = cluster.kubectl("explain", "site.spec.power.feed.loadScope").stdout
        assert "What the feed's load covers" in scope and "Default: site" in scope

    def test_scale_sets_replicas_and_the_spread_rule_still_holds(
        self, cluster: LocalCluster, examples: None
    ) -> None:
        ns = ("-n", "tenant-acme")
        cluster.kubectl("scale", "ij/llama-chat", "--replicas=6", *ns)
        got = yaml.safe_load(cluster.kubectl("get", "ij/llama-chat", "-o", "yaml", *ns).stdout)
        assert got["spec"]["replicas"] == 6
        refused = cluster.kubectl("scale", "ij/llama-chat", "--replicas=1", *ns, check=False)
        assert refused.returncode != 0
        assert "spec.placement.minSites" in refused.stderr
