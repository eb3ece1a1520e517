"""The operator itself: planning rounds, placement latency, API writes, process, feeds and
agents."""

from cango_operator.observability.dashboards.exprs import RANGE, RATE, quantile
from cango_operator.observability.grafana import Dashboard, Panel, Query, Row

OPERATOR_PROCESS = "on (instance, job) cango_operator_build_info"

NOW = Row(
    "Operator now",
    (
        Panel(
            "Operator processes",
            "stat",
            (Query("count(cango_operator_build_info)"),),
            "Operator replicas scraped (the working one and standbys).",
            width=6,
            height=4,
            thresholds=((0, "red"), (1, "green")),
        ),
        Panel(
            "Version",
            "stat",
            (Query("count by (version) (cango_operator_build_info)", "{{version}}"),),
            "Releases running.",
            width=6,
            height=4,
            text_mode="name",
        ),
        Panel(
            "Rounds per minute",
            "stat",
            (Query(f"sum(rate(cango_placement_rounds_total[{RATE}])) * 60"),),
            "Planning rounds run per minute.",
            width=6,
            height=4,
        ),
        Panel(
            "Unschedulable replicas",
            "stat",
            (Query("sum(cango_unschedulable_replicas)"),),
            "Replicas the last plan could not place.",
            width=6,
            height=4,
            thresholds=((1, "orange"),),
        ),
    ),
)

PLACEMENT = Row(
    "Placement",
    (
        Panel(
            "Rounds by outcome",
            "timeseries",
            (
                Query(
                    f"sum by (outcome) (rate(cango_placement_rounds_total[{RATE}]))",
                    "{{outcome}}",
                ),
            ),
            "Planning rounds per second; an error round is retried after a pause.",
            unit="ops",
        ),
        Panel(
            "Placement latency",
            "timeseries",
            (
                Query(quantile(0.5, "cango_placement_latency_seconds"), "p50"),
                Query(quantile(0.95, "cango_placement_latency_seconds"), "p95"),
            ),
            "From a job wanting replicas (created, scaled, or its replicas evicted) to the "
            "round that placed them.",
            unit="s",
        ),
        Panel(
            "Plan duration",
            "timeseries",
            (
                Query(quantile(0.5, "cango_plan_duration_seconds"), "p50"),
                Query(quantile(0.95, "cango_plan_duration_seconds"), "p95"),
                Query(quantile(0.99, "cango_plan_duration_seconds"), "p99"),
            ),
            "Time the placement engine took per round (no API calls).",
            unit="s",
        ),
        Panel(
            "Round duration",
            "timeseries",
            (
                Query(quantile(0.5, "cango_round_duration_seconds"), "p50"),
                Query(quantile(0.95, "cango_round_duration_seconds"), "p95"),
            ),
            "A whole round: snapshot, plan and every write to the API server.",
            unit="s",
        ),
        Panel(
            "Replicas placed by cause",
            "timeseries",
            (
                Query(
                    f"sum by (cause) (rate(cango_placements_total[{RATE}]))",
                    "{{cause}}",
                ),
            ),
            "Replicas placed per second: new (a job asked for more) or moved (re-placed "
            "after an eviction).",
            unit="ops",
        ),
        Panel(
            "Replicas evicted by reason",
            "timeseries",
            (
                Query(
                    f"sum by (reason) (rate(cango_evictions_total[{RATE}]))",
                    "{{reason}}",
                ),
            ),
            "Replicas taken off nodes per second, by the engine's reason.",
            unit="ops",
        ),
    ),
)

API = Row(
    "API server writes",
    (
        Panel(
            "Writes by kind and verb",
            "timeseries",
            (
                Query(
                    f"sum by (kind, verb) (rate(cango_api_writes_total[{RATE}]))",
                    "{{kind}} {{verb}}",
                ),
            ),
            "Writes the operator makes; a settled fleet needs none.",
            unit="ops",
        ),
        Panel(
            "Reconcile errors by kind",
            "timeseries",
            (
                Query(
                    f"sum by (kind) (increase(cango_reconcile_errors_total[{RANGE}]))",
                    "{{kind}}",
                ),
            ),
            "Failed API writes over the time range, by object kind (the round is retried).",
            thresholds=((1, "orange"),),
        ),
    ),
)

PROCESS = Row(
    "Process",
    (
        Panel(
            "Memory",
            "timeseries",
            (Query(f"process_resident_memory_bytes and {OPERATOR_PROCESS}", "{{instance}}"),),
            "Resident memory of each operator process.",
            unit="bytes",
        ),
        Panel(
            "CPU",
            "timeseries",
            (
                Query(
                    f"rate(process_cpu_seconds_total[{RATE}]) and {OPERATOR_PROCESS}",
                    "{{instance}}",
                ),
            ),
            "CPU seconds per second of each operator process.",
            unit="percentunit",
        ),
    ),
)

FEEDS_AND_AGENTS = Row(
    "Feeds and agents",
    (
        Panel(
            "Feed polls by type",
            "timeseries",
            (
                Query(
                    f"sum by (feed_type) (rate(cango_feed_reads_total[{RATE}]))",
                    "{{feed_type}}",
                ),
                Query(
                    f"sum by (feed_type, kind) (rate(cango_feed_errors_total[{RATE}]))",
                    "{{feed_type}} error: {{kind}}",
                ),
            ),
            "Site feed polls per second and the failed ones.",
            unit="ops",
        ),
        Panel(
            "Feed poll duration p95",
            "timeseries",
            (
                Query(
                    quantile(0.95, "cango_feed_read_duration_seconds", by="feed_type"),
                    "{{feed_type}}",
                ),
            ),
            "One poll including retries, per feed type.",
            unit="s",
        ),
        Panel(
            "Agents by node phase",
            "timeseries",
            (Query("sum by (phase) (cango_agent_node_phase)", "{{phase}}"),),
            "GPU nodes in each phase, as their agents judge them.",
            stack=True,
        ),
        Panel(
            "Agent heartbeats",
            "timeseries",
            (
                Query(
                    "max(time() - cango_agent_last_heartbeat_timestamp_seconds)",
                    "oldest heartbeat age",
                ),
                Query(
                    f"sum(rate(cango_agent_status_patch_errors_total[{RATE}]))",
                    "status patch errors per second",
                ),
            ),
            "Age of the stalest agent heartbeat the API server accepted, and refused "
            "status patches.",
            unit="s",
        ),
    ),
)

OPERATOR = Dashboard(
    uid="cango-operator",
    title="cango / Operator",
    description="The operator's own health: rounds, placement latency, plan duration, API "
    "writes and errors, process resources, feeds and agents.",
    rows=(NOW, PLACEMENT, API, PROCESS, FEEDS_AND_AGENTS),
)
