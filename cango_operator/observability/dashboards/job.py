"""One InferenceJob: its phase, replicas and where they run, and its namespace's usage."""

from cango_operator.observability.dashboards.exprs import RANGE, RATE
from cango_operator.observability.grafana import Dashboard, Panel, Query, Row, Variable

J = '{namespace="$namespace", inferencejob="$job"}'
NS = '{namespace="$namespace"}'

NOW = Row(
    "Job now",
    (
        Panel(
            "Phase",
            "stat",
            (Query(f"max by (phase) (cango_inferencejob_phase{J}) == 1", "{{phase}}"),),
            "Pending, Placing, Running, Degraded, Unschedulable or Failed.",
            width=6,
            height=4,
            text_mode="name",
        ),
        Panel(
            "Replicas",
            "stat",
            (
                Query(f"cango_inferencejob_replicas{J}", "wanted"),
                Query(f"cango_inferencejob_ready_replicas{J}", "ready"),
            ),
            "Replicas the job asks for and replicas ready.",
            width=6,
            height=4,
            text_mode="value_and_name",
        ),
        Panel(
            "Sites",
            "stat",
            (Query(f"count(cango_inferencejob_placed_replicas{J} > 0)"),),
            "Sites running at least one replica.",
            width=6,
            height=4,
        ),
        Panel(
            "Worst latency",
            "stat",
            (Query(f"cango_inferencejob_latency_seconds{J}"),),
            "Latency of the farthest placed site to the job's client region.",
            unit="s",
            width=6,
            height=4,
        ),
    ),
)

PLACEMENT = Row(
    "Placement",
    (
        Panel(
            "Replicas",
            "timeseries",
            (
                Query(f"cango_inferencejob_replicas{J}", "wanted"),
                Query(f"sum(cango_inferencejob_placed_replicas{J})", "placed"),
                Query(f"cango_inferencejob_ready_replicas{J}", "ready"),
            ),
            "Wanted, placed and ready replicas over time.",
        ),
        Panel(
            "Replicas by site",
            "timeseries",
            (Query(f"sum by (site) (cango_inferencejob_placed_replicas{J})", "{{site}}"),),
            "Where the replicas run.",
            stack=True,
        ),
        Panel(
            "Power headroom at its sites",
            "timeseries",
            (
                Query(
                    "cango_site_power_available_kw and on (site) "
                    f"(cango_inferencejob_placed_replicas{J} > 0)",
                    "{{site}}",
                ),
            ),
            "Available power at the sites that run the job: near 0, a curtailment may move it.",
            unit="kwatt",
        ),
        Panel(
            "Phase over time",
            "timeseries",
            (Query(f"cango_inferencejob_phase{J} == 1", "{{phase}}"),),
            "The job's phase after each planning round.",
        ),
    ),
)

USAGE = Row(
    "Usage of the namespace",
    (
        Panel(
            "GPUs in use",
            "timeseries",
            (Query(f"sum(rate(cango_usage_gpu_seconds_total{NS}[{RATE}]))", "GPUs"),),
            "GPUs the namespace's jobs hold (GPU-seconds metered per second).",
        ),
        Panel(
            "Metered power",
            "timeseries",
            (Query(f"sum(rate(cango_usage_energy_kwh_total{NS}[{RATE}])) * 3600", "kW"),),
            "Energy metered per hour: the estimated draw of the namespace's replicas.",
            unit="kwatt",
        ),
        Panel(
            "GPU-hours",
            "stat",
            (Query(f"sum(increase(cango_usage_gpu_seconds_total{NS}[{RANGE}])) / 3600"),),
            "GPU-hours metered over the dashboard's time range.",
            width=6,
            height=4,
        ),
        Panel(
            "Energy",
            "stat",
            (Query(f"sum(increase(cango_usage_energy_kwh_total{NS}[{RANGE}]))"),),
            "kWh metered over the dashboard's time range.",
            unit="kwatth",
            width=6,
            height=4,
        ),
    ),
)

JOB = Dashboard(
    uid="cango-job",
    title="cango / InferenceJob",
    description="One InferenceJob: phase, replicas, the sites it runs at, and its namespace's "
    "metered GPU-hours and energy.",
    rows=(NOW, PLACEMENT, USAGE),
    variables=(
        Variable("namespace", "Namespace", "label_values(cango_inferencejob_replicas, namespace)"),
        Variable(
            "job",
            "InferenceJob",
            'label_values(cango_inferencejob_replicas{namespace="$namespace"}, inferencejob)',
        ),
    ),
)
