"""The CRDs are generated from the models, structural, self-describing, and committed
exactly as generated."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Annotated, Any

import pytest
import yaml
from pydantic import Field

from cango_operator.api import RESOURCES, crd_manifests, render_crd_files
from cango_operator.api.base import SpecModel
from cango_operator.api.structural import SchemaError, structural_schema
from cango_operator.cli import main

REPO = Path(__file__).parents[3]
COMMITTED_DIRS = [REPO / "crds", REPO / "charts" / "cango-operator" / "crds"]
CRDS = {crd["spec"]["names"]["kind"]: crd for crd in crd_manifests()}


def _walk(node: Any, path: str = "") -> list[tuple[str, dict[str, Any]]]:
    out = [(path, node)]
    for name, prop in node.get("properties", {}).items():
        out += _walk(prop, f"{path}.{name}")
    if "items" in node:
        out += _walk(node["items"], f"{path}[]")
    if isinstance(node.get("additionalProperties"), dict):
        out += _walk(node["additionalProperties"], f"{path}{{}}")
    return out


def _schema(kind: str) -> dict[str, Any]:
    schema: dict[str, Any] = CRDS[kind]["spec"]["versions"][0]["schema"]["openAPIV3Schema"]
    return schema


class TestCommittedFilesMatchTheModels:
    @pytest.mark.parametrize("directory", COMMITTED_DIRS, ids=lambda d: str(d.relative_to(REPO)))
    def test_each_committed_crd_is_what_the_models_generate(self, directory: Path) -> None:
        for name, text in render_crd_files().items():
            path = directory / name
            assert path.is_file(), f"{path} missing: run `make crds`"
            assert path.read_text() == text, f"{path} differs from the models: run `make crds`"

    def test_crds_check_passes_on_the_repository(
        self, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
    ) -> None:
        monkeypatch.chdir(REPO)
        assert main(["crds", "--check"]) == 0
        assert "8 CRD file(s) match the models" in capsys.readouterr().out

    def test_crds_check_lists_a_file_that_drifted(
        self, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        shutil.copytree(REPO / "crds", tmp_path, dirs_exist_ok=True)
        drifted = tmp_path / "compute.cango.io_sites.yaml"
        drifted.write_text(drifted.read_text().replace("maxLength: 63", "maxLength: 64", 1))
        assert main(["crds", "--check", "--output-dir", str(tmp_path)]) == 1
        err = capsys.readouterr().err
        assert f"{drifted}: differs from the models" in err
        assert "gpunodes" not in err

    def test_crds_writes_what_check_then_accepts(self, tmp_path: Path) -> None:
        assert main(["crds", "--output-dir", str(tmp_path / "out")]) == 0
        assert sorted(p.name for p in (tmp_path / "out").iterdir()) == sorted(render_crd_files())
        assert main(["crds", "--check", "--output-dir", str(tmp_path / "out")]) == 0

    def test_the_files_are_plain_yaml_crds(self) -> None:
        for text in render_crd_files().values():
            crd = yaml.safe_load(text)
            assert crd["apiVersion"] == "apiextensions.k8s.io/v1"
            assert crd["kind"] == "CustomResourceDefinition"


class TestTheCrdsDirectoryIsEnoughToRun:
    """`kubectl apply -f crds/` installs all a default `cango-operator run` watches, the
    kopf peering kinds included (the chart ships the same file)."""

    def test_crds_holds_the_peering_kinds_of_a_default_run(self) -> None:
        names = {
            crd["metadata"]["name"]
            for path in (REPO / "crds").glob("*.yaml")
            for crd in yaml.safe_load_all(path.read_text())
        }
        assert {"clusterkopfpeerings.kopf.dev", "kopfpeerings.kopf.dev"} <= names

    def test_its_peering_crds_are_the_charts(self) -> None:
        name = "kopf.dev_peerings.yaml"
        assert (REPO / "crds" / name).read_text() == (COMMITTED_DIRS[1] / name).read_text()


class TestNames:
    @pytest.mark.parametrize(
        ("kind", "plural", "short", "scope"),
        [
            ("Site", "sites", "st", "Cluster"),
            ("GpuNode", "gpunodes", "gn", "Cluster"),
            ("InferenceJob", "inferencejobs", "ij", "Namespaced"),
        ],
    )
    def test_names_scope_and_category_are_the_contracts(
        self, kind: str, plural: str, short: str, scope: str
    ) -> None:
        spec = CRDS[kind]["spec"]
        assert CRDS[kind]["metadata"]["name"] == f"{plural}.compute.cango.io"
        assert spec["names"]["plural"] == plural
        assert spec["names"]["shortNames"] == [short]
        assert spec["names"]["categories"] == ["cango"]
        assert spec["scope"] == scope
        version = spec["versions"][0]
        assert (version["name"], version["served"], version["storage"]) == ("v1alpha1", True, True)
        assert "status" in version["subresources"]

    @pytest.mark.parametrize(
        ("kind", "columns"),
        [
            ("Site", ["Region", "Cluster", "Phase", "Available kW", "Free GPUs", "Age"]),
            ("GpuNode", ["Site", "Model", "GPUs", "Phase", "Power W", "Age"]),
            ("InferenceJob", ["Phase", "Ready", "Replicas", "Sites", "Latency", "Age"]),
        ],
    )
    def test_default_columns_answer_the_first_question(self, kind: str, columns: list[str]) -> None:
        printed = CRDS[kind]["spec"]["versions"][0]["additionalPrinterColumns"]
        assert [c["name"] for c in printed if not c.get("priority")] == columns

    def test_printer_columns_point_at_fields_that_exist(self) -> None:
        for kind in CRDS:
            paths = {p for p, _ in _walk(_schema(kind))}
            for column in CRDS[kind]["spec"]["versions"][0]["additionalPrinterColumns"]:
                if column["jsonPath"].startswith(".metadata"):
                    continue
                assert column["jsonPath"] in paths, (kind, column)

    def test_inferencejobs_scale_like_deployments(self) -> None:
        scale = CRDS["InferenceJob"]["spec"]["versions"][0]["subresources"]["scale"]
        assert scale["specReplicasPath"] == ".spec.replicas"
        assert scale["statusReplicasPath"] == ".status.replicas"


class TestStructuralSchemas:
    @pytest.mark.parametrize("kind", list(CRDS))
    def test_no_refs_no_unions_every_node_typed(self, kind: str) -> None:
        for path, node in _walk(_schema(kind)):
            assert "$ref" not in node and "allOf" not in node and "oneOf" not in node, path
            if "anyOf" in node:
                assert node.get("x-kubernetes-int-or-string") is True, path
            else:
                assert "type" in node, path
            assert "title" not in node, path
            assert "x-kubernetes-preserve-unknown-fields" not in node, path
            assert not ("properties" in node and "additionalProperties" in node), path

    @pytest.mark.parametrize("kind", list(CRDS))
    def test_every_field_is_described_and_bounded(self, kind: str) -> None:
        for path, node in _walk(_schema(kind)):
            name = path.rsplit(".", 1)[-1]
            if path.count(".") and not name.endswith(("[]", "}")) and path != ".metadata":
                assert node.get("description"), f"{kind}{path}: no description"
            if node.get("type") == "string" and "enum" not in node:
                assert "maxLength" in node or node.get("format") == "date-time", path
            if node.get("type") == "array":
                assert "maxItems" in node, path
            if isinstance(node.get("additionalProperties"), dict):
                assert "maxProperties" in node, path

    def test_quantities_are_int_or_string(self) -> None:
        resources = _schema("InferenceJob")["properties"]["spec"]["properties"]["container"]
        cpu = resources["properties"]["resources"]["properties"]["cpu"]
        assert cpu["x-kubernetes-int-or-string"] is True
        assert cpu["anyOf"] == [{"type": "integer"}, {"type": "string"}]

    def test_latency_maps_are_bounded_integer_maps(self) -> None:
        latency = _schema("Site")["properties"]["spec"]["properties"]["latencyMs"]
        assert latency["additionalProperties"]["type"] == "integer"
        assert latency["maxProperties"] == 64

    def test_defaults_appear_in_the_description(self) -> None:
        pue = _schema("Site")["properties"]["spec"]["properties"]["power"]["properties"]["pue"]
        assert pue["default"] == 1.0
        assert pue["description"].endswith("Default: 1.0.")

    def test_each_kind_carries_cel_rules(self) -> None:
        for kind in ("Site", "InferenceJob"):
            rules = [n for _, n in _walk(_schema(kind)) if "x-kubernetes-validations" in n]
            assert rules, kind
        assert len(RESOURCES) == 4


class _Undescribed(SpecModel):
    name: Annotated[str, Field(max_length=10)]


class _Unbounded(SpecModel):
    name: str
    """A name without a length limit."""
    tags: list[Annotated[str, Field(max_length=5)]]
    """Tags without a count limit."""


class _Union(SpecModel):
    value: int | str
    """Either."""


class TestTheGeneratorRefusesWeakSchemas:
    def test_a_field_without_description(self) -> None:
        with pytest.raises(SchemaError, match=r"_Undescribed\.name: no description"):
            structural_schema(_Undescribed)

    def test_strings_and_lists_without_bounds(self) -> None:
        with pytest.raises(SchemaError) as exc:
            structural_schema(_Unbounded)
        assert "_Unbounded.name: string without maxLength" in str(exc.value)
        assert "_Unbounded.tags: list without maxItems" in str(exc.value)

    def test_a_union_with_no_structural_form(self) -> None:
        with pytest.raises(SchemaError, match="a union of 2 types has no structural form"):
            structural_schema(_Union)
