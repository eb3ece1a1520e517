"""The Grafana dashboards shipped in the chart, as code.

``cango-operator observability`` renders each into
``charts/cango-operator/dashboards/<uid>.json`` and lists every panel and query in
``docs/dashboards.md``; a test fails when the committed files differ.
"""

from cango_operator.observability.dashboards.fleet import FLEET
from cango_operator.observability.dashboards.job import JOB
from cango_operator.observability.dashboards.operator import OPERATOR
from cango_operator.observability.dashboards.site import SITE
from cango_operator.observability.dashboards.tenants import TENANTS
from cango_operator.observability.grafana import Dashboard

DASHBOARDS: tuple[Dashboard, ...] = (FLEET, SITE, JOB, TENANTS, OPERATOR)

__all__ = ["DASHBOARDS"]
