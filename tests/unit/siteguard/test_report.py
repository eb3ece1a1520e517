"""The report the guard writes and the hub reads, and the memory the guard keeps at the
site."""

from __future__ import annotations

import json
from datetime import timedelta

from cango_operator.api import ShedEntry, parse_site_guard_report
from cango_operator.siteguard import GuardMemory, reports_by_gpunode
from tests.unit.siteguard.factories import T0


def record(job: str, node: str, was: int, to: int, seconds: int = 0) -> ShedEntry:
    return ShedEntry(
        at=T0 + timedelta(seconds=seconds),
        site="latam-1-a",
        namespace="ns",
        job=job,
        deployment=f"{job}-{node}-abc123",
        gpunode=node,
        from_replicas=was,
        to_replicas=to,
        reason="site Curtailed, 1 kW of GPU work over its budget while the hub is unreachable",
    )


class TestReport:
    def test_one_annotation_per_gpunode_with_its_scale_downs_in_order(self) -> None:
        records = [
            record("cheap", "gpu-2", 2, 0),
            record("spare", "gpu-1", 1, 0, 1),
            record("batch", "gpu-2", 3, 1, 2),
        ]
        reports = reports_by_gpunode(
            records,
            cluster="latam-1",
            unreachable_since=T0 - timedelta(minutes=1),
            reachable_at=T0 + timedelta(minutes=5),
        )
        assert sorted(reports) == ["gpu-1", "gpu-2"]
        doc = json.loads(reports["gpu-2"])
        assert doc["cluster"] == "latam-1"
        assert doc["unreachableSince"] == "2026-12-04T11:59:00Z"
        assert doc["reachableAt"] == "2026-12-04T12:05:00Z"
        assert [(s["job"], s["fromReplicas"], s["toReplicas"]) for s in doc["shed"]] == [
            ("cheap", 2, 0),
            ("batch", 3, 1),
        ]
        assert doc["shed"][0] == {
            "at": "2026-12-04T12:00:00Z",
            "site": "latam-1-a",
            "namespace": "ns",
            "job": "cheap",
            "deployment": "cheap-gpu-2-abc123",
            "gpunode": "gpu-2",
            "fromReplicas": 2,
            "toReplicas": 0,
            "reason": records[0].reason,
        }


class TestTheHubReadsIt:
    def test_as_the_guard_wrote_it(self) -> None:
        records = [record("cheap", "gpu-2", 2, 0), record("batch", "gpu-2", 3, 1, 2)]
        (text,) = reports_by_gpunode(
            records, cluster="latam-1", unreachable_since=None, reachable_at=T0
        ).values()
        report = parse_site_guard_report(text)
        assert report is not None
        assert report.shed == records
        assert report.unreachable_since is None

    def test_no_report_or_an_unreadable_one_is_none(self) -> None:
        assert parse_site_guard_report(None) is None
        assert parse_site_guard_report('{"cluster": "c"}') is None


class TestMemory:
    def test_round_trip(self) -> None:
        memory = GuardMemory(
            sites={"latam-1-a": {"power": {"capacityKw": 2000}}},
            hub_reachable=False,
            hub_since=T0,
            pending=[record("cheap", "gpu-1", 2, 0)],
        )
        assert GuardMemory.from_data(memory.to_data()) == memory

    def test_an_unreadable_entry_loses_only_itself(self) -> None:
        data = GuardMemory(pending=[record("cheap", "gpu-1", 2, 0)]).to_data()
        data["pending.json"] = data["pending.json"].replace("[", '[{"at": "never"},', 1)
        assert [r.job for r in GuardMemory.from_data(data).pending] == ["cheap"]

    def test_nothing_or_garbage_reads_as_empty(self) -> None:
        assert GuardMemory.from_data(None) == GuardMemory()
        assert GuardMemory.from_data({"sites.json": "{", "pending.json": "7"}) == GuardMemory()
