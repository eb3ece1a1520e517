"""Reading manifests: YAML documents in, validated models out, errors that name the place.

A bad field reads as ``fleet.yaml: Site tx-1: spec.power.reserveKw: reserveKw must be
less than capacityKw``: the source, the object and the field path in wire names.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from cango_operator.api.base import RuleViolation
from cango_operator.api.gpunode import GpuNode
from cango_operator.api.inferenceclass import InferenceClass
from cango_operator.api.inferencejob import InferenceJob
from cango_operator.api.resource import API_VERSION, GROUP
from cango_operator.api.site import Site
from cango_operator.errors import ManifestError

AnyResource = Site | GpuNode | InferenceJob | InferenceClass
_KINDS: dict[str, type[AnyResource]] = {
    "Site": Site,
    "GpuNode": GpuNode,
    "InferenceJob": InferenceJob,
    "InferenceClass": InferenceClass,
}
_MANIFEST_SUFFIXES = (".yaml", ".yml", ".json")


@dataclass
class Manifests:
    """The resources of this API found in a set of files; other kinds are left out."""

    sites: list[Site] = field(default_factory=list)
    gpunodes: list[GpuNode] = field(default_factory=list)
    jobs: list[InferenceJob] = field(default_factory=list)
    classes: list[InferenceClass] = field(default_factory=list)

    def add(self, resource: AnyResource) -> None:
        if isinstance(resource, Site):
            self.sites.append(resource)
        elif isinstance(resource, GpuNode):
            self.gpunodes.append(resource)
        elif isinstance(resource, InferenceClass):
            self.classes.append(resource)
        else:
            self.jobs.append(resource)


def is_api_document(doc: object) -> bool:
    """True for a mapping whose apiVersion is in the compute.cango.io group."""
    return isinstance(doc, Mapping) and str(doc.get("apiVersion", "")).startswith(GROUP + "/")


def parse_resource(doc: Mapping[str, Any], source: str = "<manifest>") -> AnyResource:
    """Validate one document as a Site, GpuNode or InferenceJob.

    Raises ManifestError naming ``source``, the object and every offending field.
    """
    if not isinstance(doc, Mapping):
        raise ManifestError(f"{source}: expected a mapping, got {type(doc).__name__}")
    kind = doc.get("kind")
    api_version = doc.get("apiVersion")
    if api_version != API_VERSION:
        raise ManifestError(
            f"{source}: {kind or 'object'}: apiVersion must be {API_VERSION}, got {api_version!r}"
        )
    model = _KINDS.get(str(kind))
    if model is None:
        raise ManifestError(f"{source}: kind must be one of {', '.join(_KINDS)}, got {kind!r}")
    metadata = doc.get("metadata")
    name = metadata.get("name") if isinstance(metadata, Mapping) else None
    try:
        return model.model_validate(doc)
    except ValidationError as exc:
        problems = "\n  ".join(describe_errors(exc))
        raise ManifestError(f"{source}: {kind} {name or '<unnamed>'}: {problems}") from exc


def describe_errors(exc: ValidationError) -> list[str]:
    """One ``path: message`` line per problem, with paths in wire names (``env[0].name``)."""
    lines = []
    for error in exc.errors():
        path = list(error["loc"])
        cause = (error.get("ctx") or {}).get("error")
        if isinstance(cause, RuleViolation):
            for rule_field, message in cause.violations:
                where = [*path, *rule_field.split(".")] if rule_field else path
                lines.append(f"{format_path(where)}: {message}")
            continue
        message = error["msg"].removeprefix("Value error, ")
        if error["type"] == "extra_forbidden":
            message = "unknown field"
        lines.append(f"{format_path(path)}: {message}")
    return lines


def problems_at(where: str, exc: ValidationError) -> str:
    """``describe_errors`` with each path under ``where`` (``spec.power.feed``), joined."""
    lines = []
    for line in describe_errors(exc):
        path, _, message = line.partition(": ")
        full = where if path == "<document>" else f"{where}.{path}"
        lines.append(f"{full}: {message}")
    return "; ".join(lines)


def format_path(loc: Iterable[int | str]) -> str:
    """``('spec', 'container', 'env', 0, 'name')`` -> ``spec.container.env[0].name``."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out or "<document>"


def apply_manifest(resource: AnyResource) -> dict[str, Any]:
    """The object as a manifest to (server-side) apply: identity, labels, annotations, spec.

    Server-managed metadata (uid, resourceVersion, managedFields, ...) and the status are
    left out, so the result applies cleanly whatever the object was read from.
    """
    meta = resource.metadata
    metadata: dict[str, Any] = {"name": meta.name}
    if meta.namespace:
        metadata["namespace"] = meta.namespace
    if meta.labels:
        metadata["labels"] = dict(meta.labels)
    if meta.annotations:
        metadata["annotations"] = dict(meta.annotations)
    return {
        "apiVersion": API_VERSION,
        "kind": resource.kind,
        "metadata": metadata,
        "spec": resource.spec.model_dump(by_alias=True, exclude_none=True, mode="json"),
    }


#: libyaml's C parser when PyYAML was built with it (ten times faster on a fleet of
#: thousands of documents), else the pure-Python one; both load the same safe subset.
_LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _documents(path: Path) -> Iterator[tuple[str, Any]]:
    try:
        docs = list(yaml.load_all(path.read_text(), Loader=_LOADER))
    except (OSError, yaml.YAMLError) as exc:
        raise ManifestError(f"{path}: {exc}") from exc
    for doc in docs:
        if isinstance(doc, Mapping) and doc.get("kind") == "List" and "items" in doc:
            for item in doc.get("items") or []:
                yield str(path), item
        elif doc is not None:
            yield str(path), doc


def _files(paths: Iterable[Path | str]) -> Iterator[Path]:
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            yield from sorted(p for p in path.iterdir() if p.suffix in _MANIFEST_SUFFIXES)
        else:
            yield path


def load_manifests(paths: Iterable[Path | str]) -> Manifests:
    """Read files (or directories of them); validate every compute.cango.io document.

    Documents of other kinds are ignored; ``kind: List`` is unpacked. The same object
    given twice is an error naming both sources.
    """
    found = Manifests()
    seen: dict[tuple[str, str | None, str], str] = {}
    for path in _files(paths):
        for source, doc in _documents(path):
            if not is_api_document(doc):
                continue
            resource = parse_resource(doc, source)
            key = (resource.kind, resource.metadata.namespace, resource.metadata.name)
            if key in seen:
                raise ManifestError(
                    f"{source}: {resource.kind} {resource.metadata.name} is also given in "
                    f"{seen[key]}"
                )
            seen[key] = source
            found.add(resource)
    return found
