"""Envoy's files carry their version; a listener or cluster file Envoy has not applied
some seconds after its move is moved in again, a few times, then reported refused."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
import yaml

from cango_operator.gateway.applied import AppliedCheck, running_versions
from cango_operator.gateway.files import ConfigFiles

LISTENER = {"resources": [{"name": "http"}]}
CLUSTERS = {"resources": [{"name": "c1"}]}


def stats(lds: str, cds: str) -> str:
    return (
        f'cluster_manager.cds.version_text: "{cds}"\n'
        f'listener_manager.lds.version_text: "{lds}"\n'
        "listener_manager.lds.update_rejected: 2\n"
    )


def version_of(path: Path) -> str:
    return str(yaml.safe_load(path.read_text())["version_info"])


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def files(tmp_path: Path, clock: Clock, monkeypatch: pytest.MonkeyPatch) -> ConfigFiles:
    monkeypatch.setattr("cango_operator.gateway.files.time.monotonic", clock)
    written = ConfigFiles(tmp_path)
    written.write({"lds.yaml": LISTENER, "cds.yaml": CLUSTERS})
    return written


class TestVersions:
    def test_each_file_carries_a_digest_of_its_resources_as_its_version(
        self, files: ConfigFiles, tmp_path: Path
    ) -> None:
        version = files.version("lds.yaml")
        assert version and version == version_of(tmp_path / "lds.yaml")
        assert version != files.version("cds.yaml")
        again = ConfigFiles(tmp_path / "again")
        again.write({"lds.yaml": LISTENER})
        assert again.version("lds.yaml") == version  # the same resources, the same version
        assert files.version("missing.yaml") is None

    def test_envoys_running_versions_are_read_from_its_stats(self) -> None:
        assert running_versions(stats("v-l", "v-c")) == {"lds.yaml": "v-l", "cds.yaml": "v-c"}
        assert running_versions('cluster.x.version_text: "v"\n') == {}


class TestMovingInAgain:
    def check(self, files: ConfigFiles, clock: Clock, answer: list[str]) -> AppliedCheck:
        def read() -> str:
            if not answer:
                raise OSError("connection refused")
            return answer[0]

        return AppliedCheck(files, read, grace=5, tries=2, clock=clock)

    def test_nothing_is_moved_while_envoy_runs_what_was_written(
        self, files: ConfigFiles, clock: Clock
    ) -> None:
        running = stats(str(files.version("lds.yaml")), str(files.version("cds.yaml")))
        clock.now += 60
        assert self.check(files, clock, [running]).check() == []

    def test_a_file_not_applied_is_moved_in_again_only_after_the_grace(
        self, files: ConfigFiles, clock: Clock, tmp_path: Path
    ) -> None:
        running = stats("old", str(files.version("cds.yaml")))
        check = self.check(files, clock, [running])
        clock.now += 4
        assert check.check() == []
        inode = (tmp_path / "lds.yaml").stat().st_ino
        clock.now += 2
        assert check.check() == ["lds.yaml"]
        assert (tmp_path / "lds.yaml").stat().st_ino != inode  # a new file moved in
        assert version_of(tmp_path / "lds.yaml") == files.version("lds.yaml")
        assert check.check() == []  # its grace starts again at the move

    def test_clusters_are_moved_in_before_the_listener(
        self, files: ConfigFiles, clock: Clock
    ) -> None:
        clock.now += 6
        assert self.check(files, clock, [stats("old", "old")]).check() == [
            "cds.yaml",
            "lds.yaml",
        ]

    def test_after_its_tries_a_refused_file_is_reported_once_and_left(
        self, files: ConfigFiles, clock: Clock, caplog: pytest.LogCaptureFixture
    ) -> None:
        check = self.check(files, clock, [stats("old", str(files.version("cds.yaml")))])
        moved = []
        for _ in range(5):
            clock.now += 6
            moved += check.check()
        assert moved == ["lds.yaml", "lds.yaml"]
        refused = [r for r in caplog.records if r.levelno == logging.ERROR]
        assert len(refused) == 1 and "refuses lds.yaml" in refused[0].getMessage()

    def test_a_new_version_gets_its_own_tries(self, files: ConfigFiles, clock: Clock) -> None:
        check = self.check(files, clock, [stats("old", str(files.version("cds.yaml")))])
        for _ in range(3):
            clock.now += 6
            check.check()
        files.write({"lds.yaml": {"resources": [{"name": "http2"}]}, "cds.yaml": CLUSTERS})
        clock.now += 6
        assert check.check() == ["lds.yaml"]

    def test_nothing_is_done_while_envoy_cannot_be_asked(
        self, files: ConfigFiles, clock: Clock
    ) -> None:
        clock.now += 60
        assert self.check(files, clock, []).check() == []
