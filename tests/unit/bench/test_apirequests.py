"""Counting the operator's API requests from an audit log (the bench's request counter)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

from tests.bench.apirequests import client_of, count_requests

T0 = datetime(2026, 1, 1, 12, 0, 0, tzinfo=UTC)
T1 = datetime(2026, 1, 1, 12, 0, 10, tzinfo=UTC)


def event(agent: str, verb: str, resource: str, second: int, sub: str | None = None) -> str:
    ref = {"resource": resource, **({"subresource": sub} if sub else {})}
    return json.dumps(
        {
            "stage": "ResponseComplete",
            "verb": verb,
            "userAgent": agent,
            "objectRef": ref,
            "requestURI": f"/x/{resource}",
            "requestReceivedTimestamp": f"2026-01-01T12:00:{second:02d}.5Z",
        }
    )


class TestWhoIsTheOperator:
    def test_kopf_and_the_writer_are_the_operator(self) -> None:
        assert client_of("kopf/1.45.2") == "kopf"
        assert client_of("cango-operator/0.1.0") == "writer"
        assert client_of("OpenAPI-Generator/35.0.0/python") == "writer"

    def test_the_bench_kubectl_and_the_control_plane_are_not(self) -> None:
        for agent in ("cango-bench", "kubectl/v1.36.3", "kube-scheduler/v1.36.3", ""):
            assert client_of(agent) is None


class TestCountingInWindows:
    def test_only_the_operators_requests_inside_the_window_count_in_every_file(
        self, tmp_path: Path
    ) -> None:
        rotated, log = tmp_path / "audit-2026-01-01T12-00-05.000.log", tmp_path / "audit.log"
        lines = [
            event("kopf/1.45.2", "watch", "gpunodes", 1),
            event("cango-operator/0.1.0", "patch", "inferencejobs", 2, sub="status"),
            event("cango-bench", "create", "inferencejobs", 3),
            event("kube-scheduler/v1.36.3", "create", "pods", 4, sub="binding"),
            event("cango-operator/0.1.0", "patch", "deployments", 10),  # at the end: out
        ]
        log.write_text("\n".join(lines) + "\n")
        rotated.write_text(event("cango-operator/0.1.0", "patch", "deployments", 9) + "\n")

        counts = count_requests([rotated, log], {"run": (T0, T1)})["run"]

        assert counts.total == 3
        assert counts.by_client == {"kopf": 1, "writer": 2}
        assert counts.by_resource == {
            "gpunodes watch": 1,
            "inferencejobs/status patch": 1,
            "deployments patch": 1,
        }
