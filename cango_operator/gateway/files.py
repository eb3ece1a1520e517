"""Envoy's configuration files, replaced whole so Envoy never reads half a file.

Envoy watches the directory (``watched_directory``) and reloads a file when one is moved
into it; so each file is written beside its place and renamed over it. EDS files go
first, then CDS, then LDS: a listener never names a cluster Envoy has not been given.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

ORDER = {"cds.yaml": 1, "lds.yaml": 2}


class _PlainDumper(yaml.SafeDumper):
    """YAML without anchors: routes share one per-filter config object, and Envoy's
    reader is best given each spelled out."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


def render(content: Mapping[str, Any]) -> str:
    return yaml.dump(dict(content), Dumper=_PlainDumper, sort_keys=True)


class ConfigFiles:
    """The directory Envoy reads; writes only what changed, removes what is gone."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        directory.mkdir(parents=True, exist_ok=True)
        self._written: dict[str, str] = {}

    def write(self, files: Mapping[str, Mapping[str, Any]]) -> list[str]:
        """Bring the directory to ``files``; the names written or removed."""
        texts = {name: render(content) for name, content in files.items()}
        changed = []
        for name in sorted(texts, key=lambda n: (ORDER.get(n, 0), n)):
            if self._written.get(name) == texts[name]:
                continue
            tmp = self.directory / f".{name}.tmp"
            # Readable by the owner only: the listener's file may hold a private key.
            tmp.unlink(missing_ok=True)
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w") as out:
                out.write(texts[name])
            os.replace(tmp, self.directory / name)
            self._written[name] = texts[name]
            changed.append(name)
        for name in sorted(set(self._written) - set(texts)):
            (self.directory / name).unlink(missing_ok=True)
            del self._written[name]
            changed.append(name)
        return changed
