"""Usage per tenant, for show-back and billing: GPU-hours and kWh by the tenant each
namespace belongs to (its ``compute.cango.io/tenant`` label, else the namespace itself).

Sums of ``increase()`` by ``tenant``: a namespace moved to another tenant keeps its old
series with what the old tenant used, so a month's usage is split at the move, never
counted twice (docs/tenancy.md).
"""

from cango_operator.observability.dashboards.exprs import RANGE, RATE
from cango_operator.observability.grafana import Dashboard, Panel, Query, Row

GPU_SECONDS = "cango_usage_gpu_seconds_total"
ENERGY = "cango_usage_energy_kwh_total"
#: Grafana's relative time "This month so far".
MONTH_SO_FAR = "now/M"


def gpu_hours(window: str, by: str = "tenant") -> str:
    return f"sum by ({by}) (increase({GPU_SECONDS}[{window}])) / 3600"


def kwh(window: str, by: str = "tenant") -> str:
    return f"sum by ({by}) (increase({ENERGY}[{window}]))"


def usage_table(
    title: str,
    window: str,
    description: str,
    *,
    by: str = "tenant",
    time_from: str | None = None,
    width: int = 12,
) -> Panel:
    """One row per ``by`` label set: its GPU-hours and kWh over ``window``."""
    return Panel(
        title,
        "table",
        (
            Query(gpu_hours(window, by), "GPU-hours", instant=True, table=True),
            Query(kwh(window, by), "kWh", instant=True, table=True),
        ),
        description,
        width=width,
        decimals=1,
        time_from=time_from,
    )


BILL = Row(
    "Bill per tenant",
    (
        usage_table(
            "This month so far",
            RANGE,
            "GPU-hours and kWh (estimated, before PUE) per tenant since the 1st of this month "
            "in the dashboard's timezone, whatever relative range the time picker shows (an "
            "absolute one applies as it is).",
            time_from=MONTH_SO_FAR,
        ),
        usage_table(
            "Last 30 days",
            "30d",
            "GPU-hours and kWh per tenant over the 30 days up to the end of the time range "
            "(Prometheus must keep 30 days of samples).",
        ),
        usage_table(
            "By namespace in the time range",
            RANGE,
            "GPU-hours and kWh per namespace of each tenant over the time range; pick "
            '"Previous month" for last month\'s bill.',
            by="tenant, namespace",
            width=24,
        ),
    ),
)

OVER_TIME = Row(
    "Usage over time",
    (
        Panel(
            "GPUs in use by tenant",
            "timeseries",
            (Query(f"sum by (tenant) (rate({GPU_SECONDS}[{RATE}]))", "{{tenant}}"),),
            "GPU-seconds metered per second: the GPUs each tenant's namespaces hold.",
            stack=True,
        ),
        Panel(
            "Metered power by tenant",
            "timeseries",
            (Query(f"sum by (tenant) (rate({ENERGY}[{RATE}])) * 3600", "{{tenant}}"),),
            "Energy metered per hour: the estimated draw of each tenant's replicas.",
            unit="kwatt",
            stack=True,
        ),
    ),
)

TENANTS = Dashboard(
    uid="cango-tenants",
    title="cango / Tenants",
    description="GPU-hours and kWh per tenant, for show-back and billing; opens on this "
    "month so far.",
    rows=(BILL, OVER_TIME),
    time_from=MONTH_SO_FAR,
    refresh="5m",  # 30-day increases, no need to reload them every 30 s
)
