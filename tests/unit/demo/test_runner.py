"""The demo plays only on a cluster of its own."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from cango_operator.demo.runner import DemoOptions, start_own_cluster
from cango_operator.errors import ClusterError


class TestOwnCluster:
    def test_each_run_gets_a_cluster_name_of_its_own(self) -> None:
        assert DemoOptions().cluster_name.startswith("cango-demo-")

    @pytest.mark.parametrize("leftover", ["clusters/taken", "taken.kubeconfig"])
    def test_an_existing_cluster_of_that_name_is_refused_not_reused(
        self, tmp_path: Path, leftover: str
    ) -> None:
        (tmp_path / leftover).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / leftover).touch()
        options = DemoOptions(cluster_name="taken", workdir=tmp_path, out=io.StringIO())
        with pytest.raises(ClusterError, match=r"a cluster named taken already exists .*--name"):
            start_own_cluster(options, None, print)
