"""What makes a model a Kubernetes resource of this API: group, version, kind, names,
printer columns. The CRD generator reads these; nothing is repeated elsewhere."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Literal

from pydantic import ConfigDict

from cango_operator.api.base import RuleModel
from cango_operator.api.meta import ObjectMeta

GROUP = "compute.cango.io"
VERSION = "v1alpha1"
API_VERSION = f"{GROUP}/{VERSION}"
#: `kubectl get cango` lists every kind of this API.
CATEGORY = "cango"


@dataclass(frozen=True)
class PrinterColumn:
    """One column of `kubectl get`: what a person asks about the object first."""

    name: str
    type: Literal["string", "integer", "number", "boolean", "date"]
    json_path: str
    description: str
    priority: int = 0

    def to_crd(self) -> dict[str, object]:
        out: dict[str, object] = {
            "name": self.name,
            "type": self.type,
            "jsonPath": self.json_path,
            "description": self.description,
        }
        if self.priority:
            out["priority"] = self.priority
        return out


AGE_COLUMN = PrinterColumn("Age", "date", ".metadata.creationTimestamp", "Time since creation")


class Resource(RuleModel):
    """A whole object: `apiVersion`, `kind`, `metadata`, `spec` and `status`.

    Subclasses set the class constants below and declare `kind`, `spec` and `status`.
    """

    model_config = ConfigDict(extra="forbid")

    KIND: ClassVar[str]
    PLURAL: ClassVar[str]
    SINGULAR: ClassVar[str]
    SHORT_NAMES: ClassVar[tuple[str, ...]]
    NAMESPACED: ClassVar[bool]
    PRINTER_COLUMNS: ClassVar[tuple[PrinterColumn, ...]]
    #: Fields `kubectl get --field-selector` may filter on (CRD `selectableFields`).
    SELECTABLE_FIELDS: ClassVar[tuple[str, ...]] = ()
    #: `.spec.replicas`-style paths for the scale subresource, when the kind scales.
    SCALE: ClassVar[dict[str, str] | None] = None

    api_version: Literal["compute.cango.io/v1alpha1"] = "compute.cango.io/v1alpha1"
    """APIVersion defines the versioned schema of this representation of an object."""
    metadata: ObjectMeta
    """Standard object metadata."""

    @property
    def name(self) -> str:
        return self.metadata.name
