"""The kopf peering object the instances meet in: created when missing.

kopf waits, paused, until its peering object exists; an operator started without it
would sit idle and say little about why. So ``run`` makes sure it is there first (the
Helm chart creates it too) and fails clearly when the peering CRD itself is missing.
"""

from __future__ import annotations

import logging

from kubernetes import client
from kubernetes.client.exceptions import ApiException

from cango_operator.errors import ConfigError

logger = logging.getLogger(__name__)

GROUP = "kopf.dev"
VERSION = "v1"


def ensure_peering(api: client.ApiClient, name: str, namespace: str | None) -> None:
    """Create the ClusterKopfPeering (or, for a namespaced operator, the KopfPeering in
    ``namespace``) named ``name`` unless it exists.

    It looks first: the chart creates the object and lets the operator read it by name,
    but not create it, so a create attempt would only be refused."""
    custom = client.CustomObjectsApi(api)
    kind, plural = ("ClusterKopfPeering", "clusterkopfpeerings")
    if namespace is not None:
        kind, plural = ("KopfPeering", "kopfpeerings")
    if _exists(custom, plural, name, namespace):
        return
    body = {"apiVersion": f"{GROUP}/{VERSION}", "kind": kind, "metadata": {"name": name}}
    try:
        if namespace is None:
            custom.create_cluster_custom_object(GROUP, VERSION, plural, body)
        else:
            custom.create_namespaced_custom_object(GROUP, VERSION, namespace, plural, body)
        logger.info("created %s %s", kind, name)
    except ApiException as exc:
        if exc.status == 409:
            return
        if exc.status == 404:
            raise ConfigError(
                f"the {plural}.{GROUP} CRD is not installed: `kubectl apply -f crds/` "
                "(or the chart's CRDs) installs it; or run with --standalone"
            ) from exc
        if exc.status == 403:
            logger.warning("may not create %s %s (%s); assuming it exists", kind, name, exc.reason)
            return
        raise


def _exists(custom: client.CustomObjectsApi, plural: str, name: str, namespace: str | None) -> bool:
    """Whether the peering object is there; False also when we may not read it (then
    creating it is the only way to find out)."""
    try:
        if namespace is None:
            custom.get_cluster_custom_object(GROUP, VERSION, plural, name)
        else:
            custom.get_namespaced_custom_object(GROUP, VERSION, namespace, plural, name)
    except ApiException as exc:
        if exc.status in (403, 404):
            return False
        raise
    return True
