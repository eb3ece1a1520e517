"""A Kubernetes API client from a kubeconfig file, or the pod's service account."""

from __future__ import annotations

from typing import Any

from cango_operator.errors import ConfigError


def api_client(kubeconfig: str | None) -> Any:
    """``kubernetes.client.ApiClient`` for ``kubeconfig``; in-cluster when not given."""
    from kubernetes import config
    from kubernetes.config.config_exception import ConfigException

    try:
        if kubeconfig:
            return config.new_client_from_config(config_file=kubeconfig)
        config.load_incluster_config()
    except (ConfigException, OSError) as exc:
        where = f"--kubeconfig {kubeconfig}" if kubeconfig else "in-cluster configuration"
        raise ConfigError(f"{where}: {exc}") from exc
    from kubernetes import client

    return client.ApiClient()
