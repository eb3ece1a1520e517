"""Turn a pydantic JSON schema into a Kubernetes structural OpenAPI v3 schema.

Pydantic speaks JSON Schema 2020-12; the API server wants the structural subset of
OpenAPI v3: every node typed, no ``$ref``, no ``anyOf`` except for int-or-string, no
``additionalProperties`` beside ``properties``, ``nullable`` instead of a null type.
The walk also enforces the project's own rules, so a model that forgets one fails to
generate instead of shipping a weaker CRD: every property has a description, every
string has a maxLength (or is an enum or a date-time), every list a maxItems and every
map a maxProperties.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel

from cango_operator.errors import CangoError

_DROPPED = ("title", "propertyNames", "$defs")
_NULL = {"type": "null"}


class SchemaError(CangoError):
    """A model cannot be expressed as a structural schema, or breaks the project's rules."""


def structural_schema(
    model: type[BaseModel], replace: Mapping[str, dict[str, Any]] | None = None
) -> dict[str, Any]:
    """The structural schema of ``model`` (its wire names, its rules, its defaults).

    ``replace`` gives top-level properties whose schema is fixed by Kubernetes itself
    (``metadata``, ``apiVersion``, ``kind``) instead of derived from the model.
    """
    raw = model.model_json_schema(by_alias=True, mode="validation")
    defs = raw.get("$defs", {})
    replace = replace or {}
    raw["properties"] = {k: v for k, v in raw["properties"].items() if k not in replace}
    problems: list[str] = []
    out: dict[str, Any] = _convert(raw, defs, model.__name__, problems)
    out["properties"] = {**copy.deepcopy(dict(replace)), **out["properties"]}
    if problems:
        raise SchemaError(
            f"{model.__name__} is not a valid CRD schema:\n  " + "\n  ".join(problems)
        )
    return out


def _convert(node: dict[str, Any], defs: dict[str, Any], path: str, problems: list[str]) -> Any:
    node = dict(node)
    while True:
        if "anyOf" in node and not node.get("x-kubernetes-int-or-string"):
            node = _collapse_any_of(node, path, problems)
            if "anyOf" in node:
                break
        ref = _ref_of(node)
        if ref is None:
            break
        # Keys beside the $ref (description, default, ...) describe the field and win.
        target = copy.deepcopy(defs[ref])
        if "description" in node:
            target.pop("description", None)
        node = {**target, **node}
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key in _DROPPED or key in ("$ref", "allOf", "additionalProperties", "patternProperties"):
            continue
        if key == "default" and value is None:
            continue
        if key == "description":
            out[key] = tidy_description(value)
        elif key == "const":
            out["enum"] = [value]
        elif key in ("exclusiveMinimum", "exclusiveMaximum") and not isinstance(value, bool):
            out["minimum" if key == "exclusiveMinimum" else "maximum"] = value
            out[key] = True
        elif key == "properties":
            out[key] = {
                name: _convert(prop, defs, f"{path}.{name}", problems)
                for name, prop in value.items()
            }
        elif key == "items":
            out[key] = _convert(value, defs, f"{path}[]", problems)
        else:
            out[key] = value
    if "description" in out and "default" in out and not isinstance(out["default"], dict):
        out["description"] += f" Default: {_spell(out['default'])}."
    value_schema = _map_values(node)
    if value_schema is not None:
        out["additionalProperties"] = _convert(value_schema, defs, f"{path}{{}}", problems)
    _check(out, path, problems)
    return out


def tidy_description(text: str) -> str:
    """Docstring -> one line per paragraph, as `kubectl explain` shows it best."""
    paragraphs = [" ".join(p.split()) for p in text.split("\n\n")]
    return "\n\n".join(p for p in paragraphs if p)


def _spell(value: object) -> str:
    """A default as YAML would show it: ``false``, ``1.0``, ``balanced``."""
    return str(value).lower() if isinstance(value, bool) else str(value)


def _ref_of(node: dict[str, Any]) -> str | None:
    ref = node.pop("$ref", None)
    all_of = node.get("allOf")
    if ref is None and isinstance(all_of, list) and len(all_of) == 1 and "$ref" in all_of[0]:
        ref = all_of[0]["$ref"]
        node.pop("allOf")
    if ref is None:
        return None
    return str(ref).rsplit("/", 1)[-1]


def _collapse_any_of(node: dict[str, Any], path: str, problems: list[str]) -> dict[str, Any]:
    """``X | None`` becomes X (optional, and nullable only where the model says so)."""
    options = [o for o in node["anyOf"] if o != _NULL]
    if len(options) != 1:
        problems.append(f"{path}: a union of {len(options)} types has no structural form")
        return node
    rest = {k: v for k, v in node.items() if k != "anyOf"}
    inner = dict(options[0])
    if "description" in rest:
        inner.pop("description", None)
    return {**inner, **rest}


def _map_values(node: dict[str, Any]) -> dict[str, Any] | None:
    additional = node.get("additionalProperties")
    if isinstance(additional, dict):
        return additional
    patterns = node.get("patternProperties")
    if isinstance(patterns, dict) and len(patterns) == 1:
        # Key patterns are checked in Python; the API server has no propertyNames.
        return next(iter(patterns.values()))  # type: ignore[no-any-return]
    return None


def _check(node: dict[str, Any], path: str, problems: list[str]) -> None:
    kind = node.get("type")
    if kind is None and not node.get("x-kubernetes-int-or-string"):
        problems.append(f"{path}: no type")
    bounded = "maxLength" in node or "enum" in node or node.get("format") == "date-time"
    if kind == "string" and not bounded:
        problems.append(f"{path}: string without maxLength")
    if kind == "array" and "maxItems" not in node:
        problems.append(f"{path}: list without maxItems")
    if kind == "object" and "additionalProperties" in node and "maxProperties" not in node:
        problems.append(f"{path}: map without maxProperties")
    if kind == "array" and node.get("uniqueItems"):
        problems.append(f"{path}: uniqueItems is not allowed; use x-kubernetes-list-type: set")
    for name, prop in node.get("properties", {}).items():
        if not prop.get("description"):
            problems.append(f"{path}.{name}: no description")
