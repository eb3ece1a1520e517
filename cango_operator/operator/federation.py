"""What ``run --federation`` needs from the hub before it starts: the ManifestWork API.

kopf cannot list a resource the API server does not serve, and the operator plans no
round before every watched resource has been listed; started without Open Cluster
Management's CRDs it would sit idle. So ``run`` checks first and says what is missing.
"""

from __future__ import annotations

from kubernetes import client
from kubernetes.client.exceptions import ApiException

from cango_operator.errors import ConfigError
from cango_operator.operator.kube import TIMEOUT, WORK_GROUP, WORK_VERSION


def check_work_api(api: client.ApiClient) -> None:
    """Raise ConfigError unless this identity may list ManifestWorks on this hub."""
    try:
        client.CustomObjectsApi(api).list_cluster_custom_object(
            WORK_GROUP, WORK_VERSION, "manifestworks", limit=1, _request_timeout=TIMEOUT
        )
    except ApiException as exc:
        if exc.status == 404:
            raise ConfigError(
                f"--federation: this cluster does not serve manifestworks.{WORK_GROUP}; "
                "run the operator on a hub with Open Cluster Management's CRDs installed, "
                "or without --federation"
            ) from exc
        if exc.status == 403:
            raise ConfigError(
                f"--federation: may not list manifestworks.{WORK_GROUP} in every namespace "
                "(the chart grants it with federation.enabled=true)"
            ) from exc
        raise
