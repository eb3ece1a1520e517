"""Fixtures of the federation tests: one real hub and three real site clusters (kwok
nodes, kube-schedulers, Open Cluster Management's registration and work agents) per test
session (each site reaching the hub through a WAN link of its own that the tests cut, heal
and delay), a fresh fleet per test, and operators on the hub that are always stopped."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import pytest

from cango_operator.devcluster import ensure_bin_dir
from cango_operator.devcluster.federation import (
    Federation,
    availability,
    delay_link,
    federation_down,
    federation_up,
    heal_link,
)
from tests.conftest import reap_orphan_test_clusters
from tests.e2e.harness import OperatorProcess, wait_for
from tests.federation.harness import FedFleet

SITES = ("site-a", "site-b", "site-c")


@pytest.fixture(scope="session")
def federation(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Federation]:
    reap_orphan_test_clusters()
    bin_dir = ensure_bin_dir()
    workdir = tmp_path_factory.mktemp("federation")
    name = f"cango-fedtest-{os.getpid()}"
    try:
        yield federation_up(name, SITES, workdir, bin_dir, wan_links=True)
    finally:
        federation_down(name, workdir, bin_dir)


@pytest.fixture
def fleet(federation: Federation) -> Iterator[FedFleet]:
    made = FedFleet(federation)
    try:
        yield made
    finally:
        made.cleanup()


StartOperator = Callable[..., OperatorProcess]


@pytest.fixture
def start_operator(
    federation: Federation, fleet: FedFleet, tmp_path: Path
) -> Iterator[StartOperator]:
    """Start ``cango-operator run --federation`` on the hub, cluster-wide (its
    ManifestWorks live in the sites' namespaces). Stopped at the end; its log tail shown."""
    started: list[OperatorProcess] = []

    def start(name: str = "a", wait: bool = True, extra: Sequence[str] = ()) -> OperatorProcess:
        op = OperatorProcess(
            federation.hub,
            tmp_path,
            name,
            "--federation",
            "--standalone",
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


@pytest.fixture
def cut_site(federation: Federation) -> Iterator[str]:
    """site-a, whose link is healed and delay-free again at the end whatever happened."""
    try:
        yield "site-a"
    finally:
        heal_link(federation, "site-a")
        delay_link(federation, "site-a", 0)
        wait_for(
            "site-a to be available again",
            lambda: availability(federation.hub, "site-a") == "True",
            timeout=60,
        )
