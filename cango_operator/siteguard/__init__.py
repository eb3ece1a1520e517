"""The site guard: keeps a site inside its power budget while the hub is out of reach.

It runs at the site (the cango-site chart installs it), reads the site's own power feed
with the power package, and when the budget falls below the GPU work that runs there
while the hub does not answer, it scales the operator's Deployments down in the engine's
order (:func:`placement.shed_order`). It never starts anything, and while the hub answers
it only watches. When the hub is back it reports what it stopped on the GpuNodes
(``api.SiteGuardReport``); the hub's operator takes over from there. docs/federation.md has more.
"""

from cango_operator.siteguard.decide import Decision, ScaleDown, decide
from cango_operator.siteguard.hub import DEFAULT_MISSES, HubReachability
from cango_operator.siteguard.kube import HubApi, HubSilentError, SiteApi
from cango_operator.siteguard.memory import CONFIGMAP_NAME, GuardMemory
from cango_operator.siteguard.replicas import SiteDeployment, committed_kw, of_site
from cango_operator.siteguard.report import reports_by_gpunode
from cango_operator.siteguard.runner import GuardConfig, SiteGuard

__all__ = [
    "CONFIGMAP_NAME",
    "DEFAULT_MISSES",
    "Decision",
    "GuardConfig",
    "GuardMemory",
    "HubApi",
    "HubReachability",
    "HubSilentError",
    "ScaleDown",
    "SiteApi",
    "SiteDeployment",
    "SiteGuard",
    "committed_kw",
    "decide",
    "of_site",
    "reports_by_gpunode",
]
