"""What each step of the GPU check found, and the one Markdown report it writes."""

from __future__ import annotations

import platform
import sys
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path

EXIT_OK = 0
#: a step failed (the summary says which)
EXIT_FAILED = 1
#: NVML could not be initialised (no driver, no library) or it lists no GPU
EXIT_NO_GPU = 3
#: (from hack/gpu-check.sh) no Python with the packages: no carried .venv, no bundle
EXIT_NO_PYTHON = 4
REPORT_NAME = "gpu-check.md"


class Status(StrEnum):
    PASSED = "passed"
    FAILED = "failed"
    SKIPPED = "skipped"


@dataclass
class Outcome:
    """One step: its verdict, one line saying why, and the lines it printed."""

    name: str
    status: Status
    summary: str
    body: list[str] = field(default_factory=list)

    def text(self) -> str:
        head = f"[{self.status.value}] {self.name}: {self.summary}"
        return "\n".join([head, *(f"    {line}" for line in self.body)])


@dataclass
class Report:
    """Everything the check found, printed as it comes and written as one file."""

    label: str = ""
    started_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    facts: list[tuple[str, str]] = field(default_factory=list)
    gpu_facts: list[dict[str, str]] = field(default_factory=list)
    outcomes: list[Outcome] = field(default_factory=list)
    exit_code: int | None = None

    def add(self, outcome: Outcome, echo: bool = True) -> Outcome:
        self.outcomes.append(outcome)
        if echo:
            print(outcome.text(), flush=True)
        return outcome

    @property
    def failed(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.status is Status.FAILED]

    def code(self) -> int:
        """The exit code: a set one (no GPU) wins, else failed if any step failed."""
        if self.exit_code is not None:
            return self.exit_code
        return EXIT_FAILED if self.failed else EXIT_OK

    def summary(self) -> list[str]:
        counts = {s: sum(o.status is s for o in self.outcomes) for s in Status}
        verdict = "FAILED" if self.code() != EXIT_OK else "OK"
        lines = [
            f"gpu-check {verdict} (exit {self.code()}): "
            + ", ".join(f"{counts[s]} {s.value}" for s in Status)
        ]
        lines += [f"  {o.status.value:7} {o.name}: {o.summary}" for o in self.outcomes]
        return lines

    def markdown(self) -> str:
        out = [
            "# GPU check",
            "",
            f"- taken: {self.started_at.isoformat(timespec='seconds')}",
            f"- host: {platform.node()} ({platform.machine()}, {platform.platform()})",
            f"- python: {sys.version.split()[0]}",
        ]
        if self.label:
            out.append(f"- tree: {self.label}")
        out += [f"- {name}: {value}" for name, value in self.facts]
        if self.gpu_facts:
            keys = list(self.gpu_facts[0])
            out += ["", "## GPUs", "", "| " + " | ".join(keys) + " |"]
            out.append("|" + "---|" * len(keys))
            out += ["| " + " | ".join(g.get(k, "") for k in keys) + " |" for g in self.gpu_facts]
        out += ["", "## Summary", "", "```", *self.summary(), "```"]
        for outcome in self.outcomes:
            out += ["", f"## {outcome.name}: {outcome.status.value}", "", outcome.summary]
            if outcome.body:
                out += ["", "```", *outcome.body, "```"]
        return "\n".join(out) + "\n"

    def write(self, out_dir: Path) -> Path:
        out_dir.mkdir(parents=True, exist_ok=True)
        path = out_dir / REPORT_NAME
        path.write_text(self.markdown(), encoding="utf-8")
        return path
