"""The live view: a frame on a terminal, plain lines elsewhere."""

from __future__ import annotations

import io

from cango_operator.demo.events import LogLine
from cango_operator.demo.samples import JobSample, ReplicaSample, SiteSample, Snapshot
from cango_operator.demo.view import LiveView, plain_line, progress_bar, render_frame


def site(name: str, region: str, phase: str, available: float) -> SiteSample:
    return SiteSample(name, region, phase, phase != "Offline", 50.0, available, 40.0, 1.1, {})


SNAPSHOT = Snapshot(
    real_s=60,
    sim_s=18000,
    sites={
        "tx-1": site("tx-1", "north-america", "Offline", 0),
        "qc-1": site("qc-1", "north-america", "Ready", 42.5),
        "et-1": site("et-1", "east-africa", "Ready", 17),
    },
    jobs=(
        JobSample("cango", "t/a", 2, "Running", "north-america", 80),
        JobSample("cango", "t/b", 1, "Placing", "north-america", 80),
        JobSample("baseline", "t/a", 2, "Pending", "north-america", 80),
    ),
    replicas=(ReplicaSample("cango", "t/a", "p1", "qc-1-n001", "qc-1", 2, 1400, True),),
    gpus_total={"cango": 24, "baseline": 24},
    gpus_by_site={("cango", "tx-1"): 8, ("cango", "qc-1"): 8, ("cango", "et-1"): 8},
)
LOG = [LogLine(14400, "storm s: tx-1 lose grid power until 10:00")]


class TestFrame:
    def test_progress_bar(self) -> None:
        assert progress_bar(0.5, 10) == "[█████░░░░░]"
        assert progress_bar(1.5, 4) == "[████]"

    def test_it_shows_time_regions_jobs_sites_and_events(self) -> None:
        text = "\n".join(
            render_frame(
                "day", sim_s=18000, fraction=0.208, real_s=60, speed=300, snapshot=SNAPSHOT, log=LOG
            )
        )
        assert "05:00" in text and " 21%" in text and "300x" in text
        na = next(line for line in text.splitlines() if line.startswith("north-america"))
        assert na.split() == ["north-america", "1/2", "42", "14/16"]
        assert "cango-operator: Running 1, Placing 1" in text
        assert "baseline      : Pending 1" in text
        assert "○ tx-1" in text and "● qc-1" in text
        assert "04:00 storm s: tx-1 lose grid power" in text

    def test_before_the_first_sample_it_says_so(self) -> None:
        assert "waiting for the first sample" in "\n".join(
            render_frame("day", sim_s=0, fraction=0, real_s=0, speed=300, snapshot=None, log=[])
        )


class TestPlainOutput:
    def test_not_a_terminal_means_one_line_per_hour_and_each_event_once(self) -> None:
        out = io.StringIO()
        view = LiveView("day", 300, out)
        view.start()
        view.update(18000, 0.2, 60, SNAPSHOT, LOG)
        view.update(18100, 0.2, 61, SNAPSHOT, LOG)
        view.update(21600, 0.25, 72, SNAPSHOT, LOG)
        view.stop()
        lines = out.getvalue().splitlines()
        assert lines[0] == "  event 04:00 storm s: tx-1 lose grid power until 10:00"
        assert lines[1].startswith("[05:00  20%] sites up 2/3 | cango: Running 1, Placing 1")
        assert lines[2].startswith("[06:00  25%]")
        assert len(lines) == 3 and "\x1b" not in out.getvalue()
        assert plain_line(18000, 0.2, SNAPSHOT).startswith("[05:00  20%] sites up 2/3 | cango:")

    def test_without_the_baseline_its_line_is_left_out(self) -> None:
        alone = Snapshot(**{**SNAPSHOT.__dict__, "gpus_total": {"cango": 24}})
        text = "\n".join(
            render_frame("day", sim_s=0, fraction=0, real_s=0, speed=300, snapshot=alone, log=[])
        )
        assert "cango-operator:" in text and "baseline" not in text
        assert "baseline" not in plain_line(0, 0, alone)
