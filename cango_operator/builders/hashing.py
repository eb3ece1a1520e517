"""A stable fingerprint of a manifest, so an unchanged object is never written again."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any

from cango_operator.builders.labels import APPLIED_HASH_ANNOTATION


def fingerprint(value: Any) -> str:
    """SHA-256 (first 16 hex digits) of the canonical JSON of ``value``."""
    text = json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def stamp(manifest: dict[str, Any]) -> dict[str, Any]:
    """Put the manifest's own fingerprint into its annotations; returns the manifest."""
    meta = manifest.setdefault("metadata", {})
    annotations = meta.setdefault("annotations", {})
    annotations.pop(APPLIED_HASH_ANNOTATION, None)
    annotations[APPLIED_HASH_ANNOTATION] = fingerprint(manifest)
    return manifest


def stamped_hash(manifest: Mapping[str, Any]) -> str | None:
    """The fingerprint a manifest (or a live object) carries, if any."""
    annotations = (manifest.get("metadata") or {}).get("annotations") or {}
    value = annotations.get(APPLIED_HASH_ANNOTATION)
    return str(value) if value is not None else None
