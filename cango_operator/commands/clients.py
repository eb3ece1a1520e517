"""A Kubernetes API client from a kubeconfig file, or the pod's service account; and the
wait for a site's hub credentials, which the klusterlet writes once the site is accepted."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from pathlib import Path
from typing import Any

from cango_operator.errors import ConfigError

log = logging.getLogger(__name__)


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


async def wait_for_hub_credentials(path: Path, stop: asyncio.Event) -> bool:
    """Wait for the site's hub kubeconfig: the klusterlet writes it once the hub accepts
    the site (the chart mounts its Secret as optional). False when stopped meanwhile."""
    if not path.exists():
        log.info("waiting for %s: the hub has not accepted this site yet", path)
    while not path.exists():
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), 5)
        if stop.is_set():
            return False
    return True
