"""A small typed builder of Grafana dashboard models (the JSON Grafana imports).

Dashboards are written as :class:`Dashboard` values (rows of :class:`Panel`, each with
:class:`Query` targets) and rendered by :func:`render`, which lays panels out on Grafana's
24-column grid, numbers them, and points every panel and query at the ``datasource``
template variable, so an imported or sidecar-provisioned dashboard works with whichever
Prometheus data source the user picks.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

SCHEMA_VERSION = 39
GRID_WIDTH = 24
DATASOURCE = {"type": "prometheus", "uid": "${datasource}"}

PanelKind = Literal["timeseries", "stat", "bargauge", "table", "state-timeline"]


@dataclass(frozen=True, slots=True)
class Query:
    """One PromQL target. ``legend`` uses Grafana's ``{{label}}`` syntax."""

    expr: str
    legend: str = ""
    instant: bool = False
    table: bool = False  # format the result as a table (one row per series)


@dataclass(frozen=True, slots=True)
class Panel:
    title: str
    kind: PanelKind
    queries: tuple[Query, ...]
    description: str
    unit: str = "short"
    width: int = 12
    height: int = 8
    decimals: int | None = None
    min: float | None = None
    max: float | None = None
    thresholds: tuple[tuple[float, str], ...] = ()  # (from value, color) above the base
    stack: bool = False
    value_mappings: tuple[tuple[str, str, str], ...] = ()  # (value, text, color)
    text_mode: Literal["auto", "value", "name", "value_and_name"] = "auto"  # stat panels
    #: A time range of the panel's own, whatever the dashboard's (Grafana's relative
    #: time: ``now/M`` is this month so far); None: the dashboard's.
    time_from: str | None = None


@dataclass(frozen=True, slots=True)
class Row:
    title: str
    panels: tuple[Panel, ...]


@dataclass(frozen=True, slots=True)
class Variable:
    """A query variable filled from ``label_values(...)``."""

    name: str
    label: str
    query: str
    multi: bool = False
    include_all: bool = False


@dataclass(frozen=True, slots=True)
class Dashboard:
    uid: str
    title: str
    description: str
    rows: tuple[Row, ...]
    variables: tuple[Variable, ...] = ()
    tags: tuple[str, ...] = ("cango",)
    #: The time range it opens on (up to now) and how often it reloads.
    time_from: str = "now-6h"
    refresh: str = "30s"

    def panels(self) -> list[Panel]:
        return [p for row in self.rows for p in row.panels]


def render(dashboard: Dashboard) -> dict[str, Any]:
    """The Grafana dashboard model of ``dashboard`` (plain JSON-able values)."""
    panels: list[dict[str, Any]] = []
    next_id, y = 1, 0
    for row in dashboard.rows:
        panels.append(
            {
                "id": next_id,
                "type": "row",
                "title": row.title,
                "collapsed": False,
                "gridPos": {"h": 1, "w": GRID_WIDTH, "x": 0, "y": y},
                "panels": [],
            }
        )
        next_id, y = next_id + 1, y + 1
        x, row_height = 0, 0
        for panel in row.panels:
            if x + panel.width > GRID_WIDTH:
                x, y, row_height = 0, y + row_height, 0
            panels.append(_panel(panel, next_id, x, y))
            next_id += 1
            x += panel.width
            row_height = max(row_height, panel.height)
        y += row_height
    return {
        "uid": dashboard.uid,
        "title": dashboard.title,
        "description": dashboard.description,
        "tags": list(dashboard.tags),
        "timezone": "browser",
        "editable": True,
        "graphTooltip": 1,
        "schemaVersion": SCHEMA_VERSION,
        "version": 1,
        "refresh": dashboard.refresh,
        "time": {"from": dashboard.time_from, "to": "now"},
        "templating": {"list": [_datasource_variable(), *map(_variable, dashboard.variables)]},
        "annotations": {"list": []},
        "links": [  # the other cango dashboards, keeping the time range
            {
                "type": "dashboards",
                "title": "cango",
                "tags": ["cango"],
                "asDropdown": True,
                "includeVars": False,
                "keepTime": True,
            }
        ],
        "panels": panels,
    }


def _panel(panel: Panel, panel_id: int, x: int, y: int) -> dict[str, Any]:
    defaults: dict[str, Any] = {"unit": panel.unit, "thresholds": _thresholds(panel)}
    if panel.decimals is not None:
        defaults["decimals"] = panel.decimals
    if panel.min is not None:
        defaults["min"] = panel.min
    if panel.max is not None:
        defaults["max"] = panel.max
    if panel.value_mappings:
        defaults["mappings"] = [
            {
                "type": "value",
                "options": {v: {"text": text, "color": color, "index": i}},
            }
            for i, (v, text, color) in enumerate(panel.value_mappings)
        ]
    if panel.kind == "timeseries":
        defaults["custom"] = {
            "drawStyle": "line",
            "lineWidth": 1,
            "fillOpacity": 20 if panel.stack else 0,
            "showPoints": "never",
            "spanNulls": False,
            "stacking": {"mode": "normal" if panel.stack else "none", "group": "A"},
        }
    out: dict[str, Any] = {
        "id": panel_id,
        "type": panel.kind,
        "title": panel.title,
        "description": panel.description,
        "datasource": DATASOURCE,
        "gridPos": {"h": panel.height, "w": panel.width, "x": x, "y": y},
        "fieldConfig": {"defaults": defaults, "overrides": []},
        "options": _options(panel),
        "targets": [_target(q, chr(ord("A") + i)) for i, q in enumerate(panel.queries)],
    }
    if panel.time_from is not None:
        out["timeFrom"] = panel.time_from
    if panel.kind == "table" and len(panel.queries) > 1:
        # One row per label set; each query's value column named after its legend.
        names = {
            f"Value #{chr(ord('A') + i)}": q.legend for i, q in enumerate(panel.queries) if q.legend
        }
        out["transformations"] = [
            {"id": "merge", "options": {}},
            {
                "id": "organize",
                "options": {"excludeByName": {"Time": True}, "renameByName": names},
            },
        ]
    return out


def _options(panel: Panel) -> dict[str, Any]:
    if panel.kind == "stat":
        return {
            "reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False},
            "colorMode": "value",
            "graphMode": "area",
            "textMode": panel.text_mode,
        }
    if panel.kind == "bargauge":
        return {
            "reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False},
            "orientation": "horizontal",
            "displayMode": "gradient",
        }
    if panel.kind == "table":
        return {"showHeader": True}
    if panel.kind == "state-timeline":
        return {"showValue": "never", "mergeValues": True, "legend": {"showLegend": True}}
    return {
        "legend": {"displayMode": "list", "placement": "bottom", "showLegend": True},
        "tooltip": {"mode": "multi", "sort": "desc"},
    }


def _thresholds(panel: Panel) -> dict[str, Any]:
    steps: list[dict[str, Any]] = [{"color": "green", "value": None}]
    steps += [{"color": color, "value": value} for value, color in panel.thresholds]
    return {"mode": "absolute", "steps": steps}


def _target(query: Query, ref: str) -> dict[str, Any]:
    return {
        "refId": ref,
        "datasource": DATASOURCE,
        "expr": query.expr,
        "legendFormat": query.legend or "__auto",
        "instant": query.instant,
        "range": not query.instant,
        "format": "table" if query.table else "time_series",
    }


def _datasource_variable() -> dict[str, Any]:
    return {
        "name": "datasource",
        "label": "Data source",
        "type": "datasource",
        "query": "prometheus",
        "current": {},
        "hide": 0,
        "refresh": 1,
        "regex": "",
    }


def _variable(variable: Variable) -> dict[str, Any]:
    return {
        "name": variable.name,
        "label": variable.label,
        "type": "query",
        "datasource": DATASOURCE,
        "query": {"query": variable.query, "refId": f"{variable.name}-values"},
        "definition": variable.query,
        "refresh": 2,
        "sort": 1,
        "multi": variable.multi,
        "includeAll": variable.include_all,
        "current": {},
        "hide": 0,
        "regex": "",
    }
