"""PromQL fragments the dashboards share: joins that add a site's region or a node's site.

The operator's info metrics (``cango_site_info``, ``cango_gpunode_info``) carry the
mapping; ``max by`` keeps the join one-to-one even while two operator replicas are scraped.
"""

RATE = "$__rate_interval"
RANGE = "$__range"


def with_region(expr: str) -> str:
    """``expr`` (labelled by ``site``) with the site's ``region`` label added."""
    return f"({expr}) * on (site) group_left (region) max by (site, region) (cango_site_info)"


def on_site_nodes(expr: str, site: str = "$site") -> str:
    """``expr`` (labelled by ``node``) restricted to the nodes of one site."""
    return f'({expr}) and on (node) cango_gpunode_info{{site="{site}"}}'


def quantile(q: float, histogram: str, by: str = "") -> str:
    """The ``q`` quantile of a histogram over the dashboard's rate interval."""
    labels = f"{by}, le" if by else "le"
    return f"histogram_quantile({q}, sum by ({labels}) (rate({histogram}_bucket[{RATE}])))"
