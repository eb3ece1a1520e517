"""Envoy's configuration files, replaced whole so Envoy never reads half a file.

Envoy watches the directory (``watched_directory``) and reloads a file when one is moved
into it; so each file is written beside its place and renamed over it. EDS files go
first, then CDS, then LDS (Envoy, woken to several at once, may still read them in
another order: the listener does not insist on its clusters, see ``envoy._listener``).
Each file carries its ``version_info`` (a digest of its resources), which Envoy reports
back once it has applied the file; ``redeliver`` moves a file in again when it has not.
"""

from __future__ import annotations

import hashlib
import os
import time
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


def render(content: Mapping[str, Any]) -> tuple[str, str]:
    """The file's text, and its version: a digest of its resources, written in it as
    ``version_info`` (what Envoy reports back as the version it runs)."""
    body = {k: v for k, v in content.items() if k != "version_info"}
    text = yaml.dump(body, Dumper=_PlainDumper, sort_keys=True)
    version = hashlib.sha256(text.encode()).hexdigest()[:16]
    full = yaml.dump({**body, "version_info": version}, Dumper=_PlainDumper, sort_keys=True)
    return full, version


class ConfigFiles:
    """The directory Envoy reads; writes only what changed, removes what is gone."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        directory.mkdir(parents=True, exist_ok=True)
        self._written: dict[str, str] = {}
        self._versions: dict[str, str] = {}
        #: When each file was last moved in (``time.monotonic``).
        self.delivered: dict[str, float] = {}

    def write(self, files: Mapping[str, Mapping[str, Any]]) -> list[str]:
        """Bring the directory to ``files``; the names written or removed."""
        texts = {name: render(content) for name, content in files.items()}
        changed = []
        for name in sorted(texts, key=lambda n: (ORDER.get(n, 0), n)):
            text, version = texts[name]
            if self._written.get(name) == text:
                continue
            self._move_in(name, text, version)
            changed.append(name)
        for name in sorted(set(self._written) - set(texts)):
            (self.directory / name).unlink(missing_ok=True)
            del self._written[name]
            del self._versions[name]
            self.delivered.pop(name, None)
            changed.append(name)
        return changed

    def version(self, name: str) -> str | None:
        """The version of the file last written as ``name`` (None: none is)."""
        return self._versions.get(name)

    def redeliver(self, name: str) -> None:
        """Move the file last written as ``name`` in again, unchanged, so that Envoy
        reads it again."""
        self._move_in(name, self._written[name], self._versions[name])

    def _move_in(self, name: str, text: str, version: str) -> None:
        tmp = self.directory / f".{name}.tmp"
        # Readable by the owner only: the listener's file may hold a private key.
        tmp.unlink(missing_ok=True)
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as out:
            out.write(text)
        os.replace(tmp, self.directory / name)
        self._written[name] = text
        self._versions[name] = version
        self.delivered[name] = time.monotonic()
