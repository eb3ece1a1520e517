"""The chart's Prometheus rule files, read as typed alert rules."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from cango_operator.errors import ConfigError

RULES_DIR = Path("charts/cango-operator/rules")
REQUIRED_ANNOTATIONS = ("summary", "description", "runbook")


@dataclass(frozen=True, slots=True)
class AlertRule:
    group: str
    name: str
    expr: str
    for_: str
    labels: dict[str, str]
    annotations: dict[str, str]
    source: Path

    @property
    def severity(self) -> str:
        return self.labels.get("severity", "")


def rule_files(root: Path) -> list[Path]:
    return sorted((root / RULES_DIR).glob("*.yaml"))


def load_alerts(path: Path, shown_as: Path | None = None) -> list[AlertRule]:
    """The alerting rules of one rule file; recording rules are skipped. ``source`` of
    each is ``shown_as`` (default: ``path``)."""
    try:
        data: Any = yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {exc}") from exc
    if not isinstance(data, dict) or not isinstance(data.get("groups"), list):
        raise ConfigError(f"{path}: a rule file needs a top-level 'groups' list")
    alerts = []
    for group in data["groups"]:
        for rule in group.get("rules", []):
            if "alert" not in rule:
                continue
            alerts.append(
                AlertRule(
                    group=str(group["name"]),
                    name=str(rule["alert"]),
                    expr=" ".join(str(rule["expr"]).split()),
                    for_=str(rule.get("for", "0s")),
                    labels={str(k): str(v) for k, v in (rule.get("labels") or {}).items()},
                    annotations={
                        str(k): " ".join(str(v).split())
                        for k, v in (rule.get("annotations") or {}).items()
                    },
                    source=shown_as or path,
                )
            )
    return alerts


def all_alerts(root: Path) -> list[AlertRule]:
    return [a for path in rule_files(root) for a in load_alerts(path, path.relative_to(root))]
