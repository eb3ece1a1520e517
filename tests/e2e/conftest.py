"""Fixtures of the end-to-end tests: CRDs installed once, a fresh fleet per test, and
operators started as subprocesses that are always stopped again."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from cango_operator.devcluster import LocalCluster
from tests.e2e.harness import Fleet, OperatorProcess, install_crds


@pytest.fixture(scope="session")
def e2e_cluster(cluster: LocalCluster) -> LocalCluster:
    """The session cluster with the project's CRDs and kopf's peering CRDs."""
    return install_crds(cluster)


@pytest.fixture
def fleet(e2e_cluster: LocalCluster, api_client: Any) -> Iterator[Fleet]:
    made = Fleet(e2e_cluster, api_client)
    try:
        yield made
    finally:
        made.cleanup()


StartOperator = Callable[..., OperatorProcess]


@pytest.fixture
def start_operator(
    e2e_cluster: LocalCluster, fleet: Fleet, tmp_path: Path
) -> Iterator[StartOperator]:
    """Start ``cango-operator run`` for the test's namespace; extra args as given
    (default ``--standalone``). Every operator started is stopped at the end, and its
    log tail is printed (pytest shows it when the test fails)."""
    started: list[OperatorProcess] = []

    def start(*args: str, name: str = "a", wait: bool = True) -> OperatorProcess:
        extra = list(args) or ["--standalone"]
        op = OperatorProcess(
            e2e_cluster,
            tmp_path,
            name,
            "--namespace",
            fleet.namespace,
            "--debounce",
            "0.2",
            *extra,
        ).start()
        started.append(op)
        if wait:
            op.wait_ready()
        return op

    try:
        yield start
    finally:
        for op in started:
            op.stop()
        for op in started:
            print(f"----- operator {op.name} log (tail) -----\n{op.log_tail(40)}")
