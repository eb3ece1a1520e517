"""Apply the Sites and GpuNodes of development manifests to the local cluster.

Server-side apply with field manager ``cango-dev``, so running it again is harmless and
``kubectl get -o yaml --show-managed-fields`` tells these objects apart from the
operator's and the node agent's writes.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from cango_operator.api import GROUP, VERSION, GpuNode, Resource, Site, apply_manifest
from cango_operator.api.crd import crd_name

FIELD_MANAGER = "cango-dev"
_APPLY_PATCH = "application/apply-patch+yaml"


def missing_crds(api_client: Any, kinds: Iterable[type[Resource]]) -> list[str]:
    """Names of the CRDs of ``kinds`` that are not installed and Established."""
    from kubernetes import client
    from kubernetes.client.exceptions import ApiException

    extensions = client.ApiextensionsV1Api(api_client)
    missing = []
    for kind in kinds:
        name = crd_name(kind)
        try:
            crd = extensions.read_custom_resource_definition(name)
        except ApiException as exc:
            if exc.status != 404:
                raise
            missing.append(name)
            continue
        conditions = (crd.status.conditions if crd.status else None) or []
        if not any(c.type == "Established" and c.status == "True" for c in conditions):
            missing.append(name)
    return sorted(missing)


def not_installed_message(missing: Sequence[str], sites: int, gpunodes: int) -> str:
    """What `dev nodes` says when it cannot apply the API objects."""
    return (
        f"not applied: {sites} Site(s) and {gpunodes} GpuNode(s), because the CRDs are not "
        f"installed ({', '.join(missing)}); install them with `kubectl apply -f crds/` "
        "and run this again"
    )


def apply_objects(
    api_client: Any, objects: Sequence[Site | GpuNode], field_manager: str = FIELD_MANAGER
) -> list[str]:
    """Server-side apply each (cluster-scoped) object; returns ``plural/name`` of each."""
    from kubernetes import client

    custom = client.CustomObjectsApi(api_client)
    applied = []
    for obj in objects:
        custom.patch_cluster_custom_object(
            GROUP,
            VERSION,
            obj.PLURAL,
            obj.name,
            apply_manifest(obj),
            field_manager=field_manager,
            force=True,
            _content_type=_APPLY_PATCH,
        )
        applied.append(f"{obj.SINGULAR}/{obj.name}")
    return applied
