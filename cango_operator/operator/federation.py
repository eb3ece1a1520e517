"""What ``run --federation`` needs from the hub before it starts: the ManifestWork API
(where the work goes) and the ManagedCluster API (whether each site's cluster is
reachable).

kopf cannot list a resource the API server does not serve, and the operator plans no
round before every watched resource has been listed; started without Open Cluster
Management's CRDs it would sit idle. So ``run`` checks first and says what is missing.
"""

from __future__ import annotations

from kubernetes import client
from kubernetes.client.exceptions import ApiException

from cango_operator.errors import ConfigError
from cango_operator.operator.kube import (
    CLUSTER_GROUP,
    CLUSTER_VERSION,
    TIMEOUT,
    WORK_GROUP,
    WORK_VERSION,
)

#: (group, version, plural) the operator lists and watches on a hub.
HUB_APIS = (
    (WORK_GROUP, WORK_VERSION, "manifestworks"),
    (CLUSTER_GROUP, CLUSTER_VERSION, "managedclusters"),
)


def check_work_api(api: client.ApiClient) -> None:
    """Raise ConfigError unless this identity may list ManifestWorks and ManagedClusters
    on this hub."""
    for group, version, plural in HUB_APIS:
        try:
            client.CustomObjectsApi(api).list_cluster_custom_object(
                group, version, plural, limit=1, _request_timeout=TIMEOUT
            )
        except ApiException as exc:
            if exc.status == 404:
                raise ConfigError(
                    f"--federation: this cluster does not serve {plural}.{group}; "
                    "run the operator on a hub with Open Cluster Management's CRDs "
                    "installed, or without --federation"
                ) from exc
            if exc.status == 403:
                raise ConfigError(
                    f"--federation: may not list {plural}.{group}"
                    + (" in every namespace" if plural == "manifestworks" else "")
                    + " (the chart grants it with federation.enabled=true)"
                ) from exc
            raise
