"""Fixtures of the Kueue tests: the GPU flavor on the session's Kueue, and a fresh cohort
of tenants per test."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from cango_operator.devcluster.kueue import KueueProcess

# The operator's tests here run it on the e2e fleet: the e2e fixtures, shared.
from tests.e2e.conftest import e2e_cluster, fleet, start_operator  # noqa: F401
from tests.kueue import queues
from tests.kueue.harness import Tenants


@pytest.fixture(scope="session")
def gpu_flavor(kueue: KueueProcess, api_client: Any) -> str:
    from kubernetes import client

    client.CustomObjectsApi(api_client).create_cluster_custom_object(
        queues.GROUP, queues.VERSION, "resourceflavors", queues.resource_flavor()
    )
    return queues.FLAVOR


MakeTenants = Callable[..., Tenants]


@pytest.fixture
def tenants(gpu_flavor: str, api_client: Any) -> Iterator[MakeTenants]:
    made: list[Tenants] = []

    def make(quotas: dict[str, int], lend: int = 0) -> Tenants:
        made.append(Tenants(api_client, quotas, lend))
        return made[-1]

    try:
        yield make
    finally:
        for each in made:
            each.cleanup()
