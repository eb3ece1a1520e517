"""One set of credentials for both clients: kopf's (watching) and the Kubernetes client's
(writing), read from a kubeconfig or from the pod's service account."""

from __future__ import annotations

import dataclasses
import logging
from typing import Any

import kopf
from kubernetes import client, config

from cango_operator import __version__
from cango_operator.errors import ConfigError

logger = logging.getLogger(__name__)

USER_AGENT = f"cango-operator/{__version__}"


def load_configuration(kubeconfig: str | None) -> tuple[client.Configuration, bool]:
    """The client configuration, and whether it came from the in-cluster service account.

    With ``kubeconfig`` given, only that file is used. Without, the pod's service account
    is tried first, then ``$KUBECONFIG`` / ``~/.kube/config``.
    """
    cfg = client.Configuration()
    if kubeconfig:
        try:
            config.load_kube_config(config_file=kubeconfig, client_configuration=cfg)
        except (config.ConfigException, OSError) as exc:
            raise ConfigError(f"--kubeconfig {kubeconfig}: {exc}") from exc
        return cfg, False
    try:
        config.load_incluster_config(client_configuration=cfg)
        return cfg, True
    except config.ConfigException:
        pass
    try:
        config.load_kube_config(client_configuration=cfg)
    except (config.ConfigException, OSError) as exc:
        raise ConfigError(
            f"no Kubernetes credentials: not in a cluster, and no kubeconfig ({exc})"
        ) from exc
    return cfg, False


def api_client(cfg: client.Configuration, pool_size: int) -> client.ApiClient:
    """A client whose connection pool serves ``pool_size`` concurrent writer threads."""
    cfg.connection_pool_maxsize = max(pool_size, 4)
    api = client.ApiClient(configuration=cfg)
    # Its own name in the API server's audit log and metrics (kopf's client says kopf/...).
    api.user_agent = USER_AGENT
    return api


def connection_info(cfg: client.Configuration) -> kopf.ConnectionInfo:
    """The same credentials, in the form kopf's login handler returns."""
    header = cfg.get_api_key_with_prefix("BearerToken") or cfg.get_api_key_with_prefix(
        "authorization"
    )
    parts = header.split(" ", 1) if header else []
    scheme, token = (parts[0], parts[1]) if len(parts) == 2 else (None, parts[0] if parts else None)
    return kopf.ConnectionInfo(
        server=cfg.host,
        ca_path=cfg.ssl_ca_cert,
        insecure=not cfg.verify_ssl,
        username=cfg.username or None,
        password=cfg.password or None,
        scheme=scheme,
        token=token,
        certificate_path=cfg.cert_file,
        private_key_path=cfg.key_file,
    )


def make_login_handler(cfg: client.Configuration, in_cluster: bool) -> Any:
    """A kopf login handler. In a cluster, kopf reads the (rotating) token file itself,
    and the server is the one the Kubernetes client found: kopf's own choice,
    https://kubernetes.default.svc, needs cluster DNS and the Service IP, where
    KUBERNETES_SERVICE_HOST/PORT (what the kubelet gives every pod, or the pod spec
    overrides, e.g. on a cluster without kube-proxy) need neither."""

    def login(**kwargs: Any) -> kopf.ConnectionInfo | None:
        if in_cluster:
            info: kopf.ConnectionInfo | None = kopf.login_with_service_account(**kwargs)
            return dataclasses.replace(info, server=cfg.host) if info is not None else None
        return connection_info(cfg)

    return login
