"""Constrained scalar types shared by the three resources.

Every string has a maximum length and every list a maximum number of items: the API
server needs the bounds to keep the cost of CEL rules bounded, and people get a clear
"too long" instead of a surprise further down.
"""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import AfterValidator, Field, PlainValidator, WithJsonSchema
from pydantic.config import JsonDict

#: RFC 1123 label: lower-case alphanumerics and '-', at most 63 characters.
DNS_LABEL_PATTERN = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"
#: RFC 1123 subdomain: labels joined by '.', at most 253 characters.
DNS_SUBDOMAIN_PATTERN = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$"
#: A GPU product name as NVML reports it, normalised: ``H100-80GB``, ``L40S-48GB``.
GPU_MODEL_PATTERN = r"^[A-Za-z0-9][-A-Za-z0-9_.]*$"
#: A Kubernetes resource quantity: ``8``, ``500m``, ``64Gi``, ``1.5``.
QUANTITY_PATTERN = (
    r"^(\+|-)?(([0-9]+(\.[0-9]*)?)|(\.[0-9]+))"
    r"(([KMGTPE]i)|[numkMGTPE]|([eE](\+|-)?(([0-9]+(\.[0-9]*)?)|(\.[0-9]+))))?$"
)

#: A client region, e.g. ``north-america``: the name jobs use for where their users are.
Region = Annotated[str, Field(min_length=1, max_length=63, pattern=DNS_LABEL_PATTERN)]
#: The name of a cluster-scoped object that is also used as a label value (Sites).
LabelName = Annotated[str, Field(min_length=1, max_length=63, pattern=DNS_SUBDOMAIN_PATTERN)]
#: The name of a Kubernetes object (a Node, a Secret).
ObjectName = Annotated[str, Field(min_length=1, max_length=253, pattern=DNS_SUBDOMAIN_PATTERN)]
#: A normalised GPU model name.
GpuModel = Annotated[str, Field(min_length=1, max_length=64, pattern=GPU_MODEL_PATTERN)]

_QUANTITY_RE = re.compile(QUANTITY_PATTERN)


def _quantity(value: object) -> int | str:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and len(value) <= 64 and _QUANTITY_RE.match(value):
        return value
    raise ValueError(f"must be an integer or a quantity string such as 500m or 64Gi, got {value!r}")


#: A resource quantity, integer or string, exactly as Kubernetes takes it for cpu and memory.
Quantity = Annotated[
    int | str,
    PlainValidator(_quantity),
    WithJsonSchema(
        {
            "anyOf": [{"type": "integer"}, {"type": "string"}],
            "pattern": QUANTITY_PATTERN,
            "maxLength": 64,
            "x-kubernetes-int-or-string": True,
        }
    ),
]


def _unique(items: list[str]) -> list[str]:
    dupes = sorted({item for item in items if items.count(item) > 1})
    if dupes:
        raise ValueError(f"duplicate values: {', '.join(dupes)}")
    return items


#: Attach to a ``list[str]`` that is a set: Python rejects duplicates as the API server does.
NoDuplicates = AfterValidator(_unique)
#: ``json_schema_extra`` of a list that is a set.
LIST_SET: JsonDict = {"x-kubernetes-list-type": "set"}
