"""Reading manifests: errors name the file, the object and the field; files, lists and
directories are read like kubectl reads them."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import yaml

from cango_operator.api import (
    GpuNode,
    InferenceJob,
    Site,
    apply_manifest,
    load_manifests,
    parse_resource,
)
from cango_operator.errors import ManifestError
from tests.unit.api.contract import GPUNODE_EXAMPLE, JOB_EXAMPLE, SITE_EXAMPLE

EXAMPLES_DIR = Path(__file__).parents[3] / "examples"


class TestParseResource:
    def test_each_kind_becomes_its_model(self) -> None:
        assert isinstance(parse_resource(SITE_EXAMPLE), Site)
        assert isinstance(parse_resource(GPUNODE_EXAMPLE), GpuNode)
        assert isinstance(parse_resource(JOB_EXAMPLE), InferenceJob)

    def test_a_bad_field_is_named_with_source_kind_and_object(self) -> None:
        doc = copy.deepcopy(SITE_EXAMPLE)
        doc["spec"]["power"]["reserveKw"] = 25000
        with pytest.raises(ManifestError) as exc:
            parse_resource(doc, source="fleet.yaml")
        assert str(exc.value) == (
            "fleet.yaml: Site tx-rockdale-1: spec.power.reserveKw: "
            "reserveKw must be less than capacityKw"
        )

    def test_every_problem_is_listed_one_per_line(self) -> None:
        doc = copy.deepcopy(JOB_EXAMPLE)
        doc["spec"]["replicas"] = 0
        doc["spec"]["container"]["env"][0]["name"] = "1 BAD"
        doc["spec"]["gpu"]["count"] = "one"
        with pytest.raises(ManifestError) as exc:
            parse_resource(doc, source="jobs.yaml")
        lines = str(exc.value).splitlines()
        assert lines[0].startswith("jobs.yaml: InferenceJob llama-chat: ")
        assert sorted(line.strip().split(":")[-2].split()[-1] for line in lines) == sorted(
            ["spec.replicas", "spec.container.env[0].name", "spec.gpu.count"]
        )

    def test_an_unknown_field_is_a_typo_not_ignored(self) -> None:
        doc = copy.deepcopy(GPUNODE_EXAMPLE)
        doc["spec"]["gpu"]["cnt"] = 8
        with pytest.raises(ManifestError, match=r"spec\.gpu\.cnt: unknown field"):
            parse_resource(doc, source="nodes.yaml")

    def test_a_wrong_api_version_is_named(self) -> None:
        doc = {**SITE_EXAMPLE, "apiVersion": "compute.cango.io/v1"}
        with pytest.raises(ManifestError, match=r"x\.yaml: Site: apiVersion must be"):
            parse_resource(doc, source="x.yaml")

    def test_a_kind_outside_the_api_is_named(self) -> None:
        doc = {**SITE_EXAMPLE, "kind": "Mine"}
        with pytest.raises(ManifestError, match="kind must be one of Site, GpuNode, InferenceJob"):
            parse_resource(doc, source="x.yaml")

    def test_a_document_that_is_not_a_mapping_is_named(self) -> None:
        with pytest.raises(ManifestError, match=r"x\.yaml: expected a mapping, got list"):
            parse_resource([1, 2], source="x.yaml")  # type: ignore[arg-type]

    def test_an_object_without_a_name_is_rejected(self) -> None:
        doc = {**SITE_EXAMPLE, "metadata": {}}
        with pytest.raises(ManifestError, match=r"Site <unnamed>: metadata\.name: Field required"):
            parse_resource(doc)

    def test_what_kubectl_get_returns_reads_back(self) -> None:
        doc = copy.deepcopy(SITE_EXAMPLE)
        doc["metadata"].update(
            uid="0d1c",
            resourceVersion="42",
            generation=3,
            creationTimestamp="2026-01-05T10:00:00Z",
            managedFields=[{"manager": "kubectl", "operation": "Apply"}],
        )
        site = parse_resource(doc)
        assert site.metadata.generation == 3
        assert site.metadata.model_extra == {
            "managedFields": [{"manager": "kubectl", "operation": "Apply"}]
        }


def _write(path: Path, *docs: object) -> Path:
    path.write_text(yaml.safe_dump_all(docs))
    return path


class TestLoadManifests:
    def test_a_multi_document_file_is_sorted_by_kind_and_other_kinds_ignored(
        self, tmp_path: Path
    ) -> None:
        config_map = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}}
        f = _write(tmp_path / "all.yaml", SITE_EXAMPLE, config_map, GPUNODE_EXAMPLE, JOB_EXAMPLE)
        found = load_manifests([f])
        assert [s.name for s in found.sites] == ["tx-rockdale-1"]
        assert [n.name for n in found.gpunodes] == ["tx-rockdale-1-n001"]
        assert [j.name for j in found.jobs] == ["llama-chat"]

    def test_a_kubectl_list_is_unpacked(self, tmp_path: Path) -> None:
        listing = {"apiVersion": "v1", "kind": "List", "items": [SITE_EXAMPLE, GPUNODE_EXAMPLE]}
        found = load_manifests([_write(tmp_path / "got.yaml", listing)])
        assert (len(found.sites), len(found.gpunodes)) == (1, 1)

    def test_a_directory_is_read_file_by_file(self, tmp_path: Path) -> None:
        _write(tmp_path / "a.yaml", SITE_EXAMPLE)
        _write(tmp_path / "b.yml", GPUNODE_EXAMPLE)
        (tmp_path / "notes.txt").write_text("not a manifest")
        found = load_manifests([tmp_path])
        assert (len(found.sites), len(found.gpunodes)) == (1, 1)

    def test_the_same_object_twice_names_both_files(self, tmp_path: Path) -> None:
        a = _write(tmp_path / "a.yaml", SITE_EXAMPLE)
        b = _write(tmp_path / "b.yaml", SITE_EXAMPLE)
        with pytest.raises(
            ManifestError, match=r"b\.yaml: Site tx-rockdale-1 is also given in .*a\.yaml"
        ):
            load_manifests([a, b])

    def test_jobs_of_the_same_name_in_two_namespaces_are_two_jobs(self, tmp_path: Path) -> None:
        other = copy.deepcopy(JOB_EXAMPLE)
        other["metadata"]["namespace"] = "tenant-other"
        found = load_manifests([_write(tmp_path / "jobs.yaml", JOB_EXAMPLE, other)])
        assert len(found.jobs) == 2

    def test_a_bad_document_names_its_file(self, tmp_path: Path) -> None:
        bad = copy.deepcopy(GPUNODE_EXAMPLE)
        bad["spec"]["gpu"]["count"] = 17
        f = _write(tmp_path / "nodes.yaml", bad)
        with pytest.raises(
            ManifestError, match=r"nodes\.yaml: GpuNode tx-rockdale-1-n001: spec\.gpu\.count"
        ):
            load_manifests([f])

    def test_broken_yaml_names_its_file(self, tmp_path: Path) -> None:
        f = tmp_path / "broken.yaml"
        f.write_text("spec: [\n")
        with pytest.raises(ManifestError, match=r"broken\.yaml"):
            load_manifests([f])

    def test_a_missing_file_names_itself(self, tmp_path: Path) -> None:
        with pytest.raises(ManifestError, match=r"nowhere\.yaml"):
            load_manifests([tmp_path / "nowhere.yaml"])


class TestShippedExamples:
    def test_the_examples_are_valid_and_make_a_small_fleet(self) -> None:
        found = load_manifests([EXAMPLES_DIR])
        regions = {s.spec.region for s in found.sites}
        assert regions == {"north-america", "south-america"}
        site_names = {s.name for s in found.sites}
        assert {n.spec.site for n in found.gpunodes} <= site_names
        assert len(found.jobs) >= 3
        assert {s.spec.power.feed.type for s in found.sites if s.spec.power.feed} == {
            "http",
            "prometheus",
            "modbus",
        }


class TestTheFastLoader:
    def test_libyaml_reads_every_shipped_manifest_as_the_python_parser_does(self) -> None:
        if not hasattr(yaml, "CSafeLoader"):
            pytest.skip("PyYAML is built without libyaml here: only the Python parser runs")
        files = sorted(EXAMPLES_DIR.rglob("*.yaml"))
        assert files
        for path in files:
            text = path.read_text()
            fast = list(yaml.load_all(text, Loader=yaml.CSafeLoader))
            assert fast == list(yaml.safe_load_all(text)), path


class TestApplyManifest:
    def test_what_was_read_from_the_server_applies_without_server_fields(self) -> None:
        doc = copy.deepcopy(JOB_EXAMPLE)
        doc["metadata"].update(
            uid="0d1c", resourceVersion="42", labels={"team": "chat"}, managedFields=[{}]
        )
        body = apply_manifest(parse_resource(doc))
        assert set(body) == {"apiVersion", "kind", "metadata", "spec"}
        assert body["metadata"] == {
            "name": "llama-chat",
            "namespace": "tenant-acme",
            "labels": {"team": "chat"},
        }
        assert parse_resource(body).spec == parse_resource(doc).spec
