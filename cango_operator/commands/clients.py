"""A Kubernetes API client from a kubeconfig file, or the pod's service account."""

from __future__ import annotations

from typing import Any

from cango_operator.errors import ConfigError


def api_client(kubeconfig: str | None, *, retries: int | None = None) -> Any:
    """``kubernetes.client.ApiClient`` for ``kubeconfig``; in-cluster when not given.
    ``retries``: how often a failed request is tried again (None: urllib3's default, 3),
    0 where a silence must count at once."""
    from kubernetes import client, config
    from kubernetes.config.config_exception import ConfigException

    settings = client.Configuration()
    settings.retries = retries
    try:
        if kubeconfig:
            return config.new_client_from_config(
                config_file=kubeconfig, client_configuration=settings
            )
        config.load_incluster_config(client_configuration=settings)
    except (ConfigException, OSError) as exc:
        where = f"--kubeconfig {kubeconfig}" if kubeconfig else "in-cluster configuration"
        raise ConfigError(f"{where}: {exc}") from exc
    return client.ApiClient(settings)
