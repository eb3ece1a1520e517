"""The operator child process: a child that dies before it is ready is reported with its log."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from cango_operator.demo.operator_proc import OperatorProcess, free_port, log_tail
from cango_operator.errors import ClusterError


class TestOperatorProcess:
    async def test_a_child_that_exits_early_is_an_error_quoting_its_log(
        self, tmp_path: Path
    ) -> None:
        log = tmp_path / "operator.log"
        child = OperatorProcess(dict(os.environ), log, extra_args=("--no-such-flag",))
        child.start()
        try:
            with pytest.raises(ClusterError, match=r"exited with 2 before it was ready") as caught:
                await child.wait_ready(timeout_s=60)
            assert "error: unrecognized arguments" in str(caught.value)
        finally:
            assert child.stop() == 2

    def test_the_metrics_port_is_free_and_named_in_the_url(self, tmp_path: Path) -> None:
        child = OperatorProcess({}, tmp_path / "log")
        assert child.metrics_url == f"http://127.0.0.1:{child.metrics_port}/metrics"
        assert 0 < free_port() < 65536
        assert child.stop() is None  # never started

    def test_the_log_tail_is_the_last_lines(self, tmp_path: Path) -> None:
        log = tmp_path / "log"
        log.write_text("\n".join(f"line {i}" for i in range(50)))
        assert log_tail(log, 2) == "line 48\nline 49"
        assert log_tail(tmp_path / "missing") == "(no log)"
