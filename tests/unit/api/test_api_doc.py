"""docs/api.md names every field of every CRD, so the reference cannot fall behind the API."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
import yaml

REPO = Path(__file__).parents[3]
API_DOC = REPO / "docs" / "api.md"
CRD_FILES = sorted((REPO / "crds").glob("*.yaml"))


def field_paths(schema: Mapping[str, Any], prefix: str = "") -> Iterator[str]:
    """Every property below ``schema`` as a dotted path (``spec.power.capacityKw``); list
    items add no step, and the keys of a map are data, not fields."""
    for name, prop in (schema.get("properties") or {}).items():
        path = f"{prefix}.{name}" if prefix else name
        yield path
        yield from field_paths(prop, path)
        if isinstance(prop.get("items"), Mapping):
            yield from field_paths(prop["items"], path)


def crd_fields(crd_file: Path) -> list[str]:
    return [
        path
        for crd in yaml.safe_load_all(crd_file.read_text())
        for version in crd["spec"]["versions"]
        for path in field_paths(version["schema"]["openAPIV3Schema"])
    ]


def undocumented(fields: list[str], doc: str) -> list[str]:
    """The fields the document does not name as code (`` `spec.region` ``)."""
    return [f for f in fields if f"`{f}`" not in doc]


class TestApiReferenceCoversTheCrds:
    @pytest.mark.parametrize("crd_file", CRD_FILES, ids=lambda p: p.name)
    def test_every_field_of_the_crd_is_in_the_reference(self, crd_file: Path) -> None:
        missing = undocumented(crd_fields(crd_file), API_DOC.read_text())
        assert not missing, f"docs/api.md does not name these fields of {crd_file.name}: {missing}"

    def test_there_are_crds_to_check(self) -> None:
        assert {p.name for p in CRD_FILES} >= {
            "compute.cango.io_sites.yaml",
            "compute.cango.io_gpunodes.yaml",
            "compute.cango.io_inferencejobs.yaml",
        }

    def test_nested_and_listed_fields_get_full_paths(self) -> None:
        fields = crd_fields(REPO / "crds" / "compute.cango.io_sites.yaml")
        assert "spec.power.feed.secretRef.namespace" in fields
        assert "status.conditions.lastTransitionTime" in fields
        assert not any(f.startswith("spec.latencyMs.") for f in fields)

    def test_a_field_left_out_of_the_reference_is_reported(self) -> None:
        doc = API_DOC.read_text()
        without = "\n".join(
            line for line in doc.splitlines() if "`spec.power.feed.secretRef.namespace`" not in line
        )
        fields = crd_fields(REPO / "crds" / "compute.cango.io_sites.yaml")
        assert undocumented(fields, without) == ["spec.power.feed.secretRef.namespace"]
