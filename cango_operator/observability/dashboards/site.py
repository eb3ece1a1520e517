"""One site in detail: its power budget, its feed, its GPU nodes and the work it runs."""

from cango_operator.observability.dashboards.exprs import RATE, on_site_nodes
from cango_operator.observability.grafana import Dashboard, Panel, Query, Row, Variable

S = '{site="$site"}'


def _stat(title: str, expr: str, description: str, unit: str = "short") -> Panel:
    return Panel(title, "stat", (Query(expr),), description, unit=unit, width=4, height=4)


NOW = Row(
    "Site now",
    (
        Panel(
            "Phase",
            "stat",
            (Query(f"max by (phase) (cango_site_phase{S}) == 1", "{{phase}}"),),
            "Ready takes new work; Degraded still does; Curtailed, Offline and Unknown do not.",
            width=4,
            height=4,
            text_mode="name",
        ),
        _stat("Capacity", f"cango_site_power_capacity_kw{S}", "Power capacity now.", "kwatt"),
        _stat(
            "Available",
            f"cango_site_power_available_kw{S}",
            "What a new placement may still use.",
            "kwatt",
        ),
        _stat(
            "Mining target",
            f"cango_site_mining_target_kw{S}",
            "Mining load recommended so the GPU work fits.",
            "kwatt",
        ),
        _stat(
            "Free GPUs",
            f"cango_site_free_gpus{S}",
            "Healthy GPUs on usable nodes not allocated to any replica.",
        ),
        _stat("Replicas", f"cango_site_replicas{S}", "Replicas placed here."),
    ),
)

POWER = Row(
    "Power and feed",
    (
        Panel(
            "Power budget",
            "timeseries",
            (
                Query(f"cango_site_power_capacity_kw{S}", "capacity"),
                Query(f"cango_site_power_other_load_kw{S}", "mining and other load"),
                Query(f"cango_site_power_gpu_draw_kw{S}", "GPU draw"),
                Query(f"cango_site_power_committed_kw{S}", "committed"),
                Query(f"cango_site_power_available_kw{S}", "available"),
                Query(f"cango_site_mining_target_kw{S}", "mining target"),
                Query(f"cango_site_power_gpu_excess_kw{S}", "GPU excess"),
            ),
            "The site's power model: GPU draw and commitments (times PUE) against capacity, "
            "mining and the reserve. GPU excess above 0 means the GPU work does not fit.",
            unit="kwatt",
            width=24,
        ),
        Panel(
            "Feed sample age",
            "timeseries",
            (Query(f"cango_feed_age_seconds{S}", "{{feed_type}}"),),
            "Seconds since the last good sample; past the feed's staleAfterSeconds the site "
            "turns Unknown.",
            unit="s",
        ),
        Panel(
            "Feed polls and errors",
            "timeseries",
            (
                Query(f"sum(rate(cango_feed_reads_total{S}[{RATE}]))", "polls"),
                Query(
                    f"sum by (kind) (rate(cango_feed_errors_total{S}[{RATE}]))",
                    "error: {{kind}}",
                ),
            ),
            "Feed polls per second and the failed ones by kind of failure.",
            unit="ops",
        ),
    ),
)

NODES = Row(
    "GPU nodes",
    (
        Panel(
            "Node GPU power",
            "timeseries",
            (
                Query(
                    f"sum by (node) ({on_site_nodes('cango_gpu_power_watts')})",
                    "{{node}}",
                ),
            ),
            "Power the GPUs of each node draw, from NVML.",
            unit="watt",
            stack=True,
        ),
        Panel(
            "Hottest GPU per node",
            "timeseries",
            (
                Query(
                    f"max by (node) ({on_site_nodes('cango_gpu_temperature_celsius')})",
                    "{{node}}",
                ),
            ),
            "Core temperature of each node's hottest GPU.",
            unit="celsius",
            thresholds=((80, "orange"), (90, "red")),
        ),
        Panel(
            "GPU utilisation per node",
            "timeseries",
            (
                Query(
                    f"avg by (node) ({on_site_nodes('cango_gpu_utilization_ratio')})",
                    "{{node}}",
                ),
            ),
            "Mean busy fraction of each node's GPUs.",
            unit="percentunit",
            min=0,
            max=1,
        ),
        Panel(
            "Unhealthy GPUs per node",
            "timeseries",
            (
                Query(
                    f"sum by (node) ({on_site_nodes('1 - cango_gpu_healthy')})",
                    "{{node}}",
                ),
            ),
            "GPUs with a fatal XID, double-bit ECC errors or off the bus: the node is "
            "Degraded or Unhealthy and its replicas move.",
            thresholds=((1, "red"),),
        ),
        Panel(
            "Nodes by phase",
            "timeseries",
            (
                Query(
                    f"sum by (phase) ({on_site_nodes('cango_agent_node_phase')})",
                    "{{phase}}",
                ),
            ),
            "GPU nodes in each phase, as their agents judge them.",
            stack=True,
        ),
        Panel(
            "Latency to client regions",
            "timeseries",
            (
                Query(
                    f"avg by (region) ({on_site_nodes('cango_agent_probe_latency_seconds')})",
                    "{{region}}",
                ),
            ),
            "Median TCP connect time from the site's agents to each client region.",
            unit="s",
        ),
    ),
)

WORK = Row(
    "Work",
    (
        Panel(
            "Replicas by job",
            "timeseries",
            (
                Query(
                    f"sum by (namespace, inferencejob) (cango_inferencejob_placed_replicas{S})",
                    "{{namespace}}/{{inferencejob}}",
                ),
            ),
            "Replicas of each InferenceJob placed at this site.",
            stack=True,
            width=24,
        ),
    ),
)

SITE = Dashboard(
    uid="cango-site",
    title="cango / Site",
    description="One mining site: power budget, feed, GPU nodes and the replicas it runs.",
    rows=(NOW, POWER, NODES, WORK),
    variables=(Variable("site", "Site", "label_values(cango_site_power_capacity_kw, site)"),),
)
