"""Fleet overview: every site by region, with power headroom and free GPUs, and the work."""

from cango_operator.observability.dashboards.exprs import RANGE, RATE, with_region
from cango_operator.observability.grafana import Dashboard, Panel, Query, Row

FREE_GPUS = "cango_site_free_gpus"

NOW = Row(
    "Fleet now",
    (
        Panel(
            "Sites",
            "stat",
            (Query("count(max by (site) (cango_site_info))"),),
            "Sites the operator knows.",
            width=4,
            height=4,
        ),
        Panel(
            "Sites not Ready",
            "stat",
            (Query('sum(cango_site_phase{phase!="Ready"})'),),
            "Sites Degraded, Curtailed, Offline or Unknown: they take no new work "
            "(Degraded still does).",
            width=4,
            height=4,
            thresholds=((1, "orange"),),
        ),
        Panel(
            "Available power",
            "stat",
            (Query("sum(cango_site_power_available_kw)"),),
            "Power new placements may still use across the fleet.",
            unit="kwatt",
            width=4,
            height=4,
        ),
        Panel(
            "Free GPUs",
            "stat",
            (Query(f"sum({FREE_GPUS})"),),
            "Healthy GPUs on usable nodes that no replica holds.",
            width=4,
            height=4,
        ),
        Panel(
            "Jobs running",
            "stat",
            (Query('sum(cango_jobs{phase="Running"})'),),
            "InferenceJobs with every replica placed and ready.",
            width=4,
            height=4,
        ),
        Panel(
            "Jobs unschedulable",
            "stat",
            (Query('sum(cango_jobs{phase="Unschedulable"})'),),
            "InferenceJobs no placement fits (see the reasons below).",
            width=4,
            height=4,
            thresholds=((1, "red"),),
        ),
    ),
)

REGIONS = Row(
    "Sites by region",
    (
        Panel(
            "Power headroom by region",
            "bargauge",
            (
                Query(
                    f"sum by (region) ({with_region('cango_site_power_available_kw')})",
                    "{{region}}",
                ),
            ),
            "Available kW summed over each region's sites.",
            unit="kwatt",
            width=8,
        ),
        Panel(
            "Free GPUs by region",
            "bargauge",
            (Query(f"sum by (region) ({with_region(FREE_GPUS)})", "{{region}}"),),
            "Unallocated GPUs on usable nodes, per region.",
            width=8,
        ),
        Panel(
            "Sites by phase",
            "timeseries",
            (Query("sum by (phase) (cango_site_phase)", "{{phase}}"),),
            "How many sites are in each phase.",
            width=8,
            stack=True,
        ),
        Panel(
            "Sites",
            "table",
            (
                Query(
                    f"sum by (site, region) ({with_region('cango_site_power_capacity_kw')})",
                    "Capacity kW",
                    instant=True,
                    table=True,
                ),
                Query(
                    f"sum by (site, region) ({with_region('cango_site_power_available_kw')})",
                    "Available kW",
                    instant=True,
                    table=True,
                ),
                Query(
                    f"sum by (site, region) ({with_region(FREE_GPUS)})",
                    "Free GPUs",
                    instant=True,
                    table=True,
                ),
                Query(
                    f"sum by (site, region) ({with_region('cango_site_replicas')})",
                    "Replicas",
                    instant=True,
                    table=True,
                ),
            ),
            "One row per site: capacity, available power, free GPUs and replicas placed.",
            width=24,
            height=10,
        ),
        Panel(
            "Available power by site",
            "timeseries",
            (Query("cango_site_power_available_kw", "{{site}}"),),
            "What each site can still give new placements.",
            unit="kwatt",
        ),
        Panel(
            "Fleet power",
            "timeseries",
            (
                Query("sum(cango_site_power_capacity_kw)", "capacity"),
                Query("sum(cango_site_power_other_load_kw)", "mining and other load"),
                Query("sum(cango_site_power_gpu_draw_kw)", "GPU draw"),
                Query("sum(cango_site_power_committed_kw)", "committed to replicas"),
                Query("sum(cango_site_mining_target_kw)", "mining target"),
            ),
            "Capacity against what mining and GPU nodes draw; committed is what placed "
            "replicas were promised (times PUE).",
            unit="kwatt",
        ),
        Panel(
            "Unhealthy feeds by type",
            "timeseries",
            (Query("sum by (feed_type) (1 - cango_feed_healthy)", "{{feed_type}}"),),
            "Sites whose power feed is stale, failing or nonsensical.",
        ),
        Panel(
            "Unhealthy GPUs",
            "timeseries",
            (
                Query("sum(1 - cango_gpu_healthy)", "unhealthy"),
                Query("sum(cango_gpu_lost)", "lost"),
            ),
            "GPUs the agents judge unhealthy (fatal XID, double-bit ECC) or off the bus.",
        ),
    ),
)

WORK = Row(
    "Work",
    (
        Panel(
            "Jobs by phase",
            "timeseries",
            (Query("sum by (phase) (cango_jobs)", "{{phase}}"),),
            "InferenceJobs in each phase after the last planning round.",
            stack=True,
        ),
        Panel(
            "Unschedulable jobs by reason",
            "timeseries",
            (Query("sum by (reason) (cango_unschedulable_jobs)", "{{reason}}"),),
            "Jobs the last plan could not fully place, by the reason that ruled out "
            "the most nodes.",
        ),
        Panel(
            "Replicas by site",
            "timeseries",
            (Query("sum by (site) (cango_site_replicas)", "{{site}}"),),
            "Replicas placed at each site.",
            stack=True,
        ),
        Panel(
            "GPUs in use by namespace",
            "timeseries",
            (
                Query(
                    f"sum by (namespace) (rate(cango_usage_gpu_seconds_total[{RATE}]))",
                    "{{namespace}}",
                ),
            ),
            "GPU-seconds metered per second: the GPUs each namespace holds.",
            stack=True,
        ),
        Panel(
            "GPU-hours by namespace",
            "bargauge",
            (
                Query(
                    f"sum by (namespace) (increase(cango_usage_gpu_seconds_total[{RANGE}])) / 3600",
                    "{{namespace}}",
                ),
            ),
            "GPU-hours metered over the dashboard's time range.",
        ),
        Panel(
            "Energy by namespace",
            "bargauge",
            (
                Query(
                    f"sum by (namespace) (increase(cango_usage_energy_kwh_total[{RANGE}]))",
                    "{{namespace}}",
                ),
            ),
            "kWh metered over the dashboard's time range.",
            unit="kwatth",
        ),
    ),
)

FLEET = Dashboard(
    uid="cango-fleet",
    title="cango / Fleet overview",
    description="Every site by region: power headroom, free GPUs, health and the work placed.",
    rows=(NOW, REGIONS, WORK),
)
