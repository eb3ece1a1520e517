"""What a round did to jobs for power, as Events about the InferenceJobs.

Pure: from the round's view (the jobs' statuses as the last round left them), its plan
and what meter first holds now. Only changes are told, so a settled fleet makes none:

- ``WaitingForPower`` (Normal): replicas at a site newly held until its meter shows the
  mining shed for them (meter first);
- ``PowerReleased`` (Normal): the meter shows the room, the held replicas start;
- ``ShedForPower`` (Warning): running replicas stopped because the site's power no longer
  carries them (over budget, curtailed), to be placed again where the job's rules allow;
- ``Evicted`` (Warning) for the other reasons a running replica stops (site or node
  lost, preempted), ``Moved`` (Normal) for the improvement stage's moves.
"""

from __future__ import annotations

from collections.abc import Mapping

from cango_operator.api import InferenceJob
from cango_operator.builders.events import EventRecord, Regarding
from cango_operator.placement import Plan
from cango_operator.placement.existing import POWER_REASONS
from cango_operator.placement.improvement import MOVED

#: ``reportingController`` of the operator's Events.
EVENT_CONTROLLER = "compute.cango.io/operator"


def power_events(
    jobs: Mapping[str, InferenceJob],
    plan: Plan,
    held: Mapping[tuple[str, str], int],
    held_before: Mapping[tuple[str, str], int],
) -> list[EventRecord]:
    """The round's Events; ``held``/``held_before``: replicas held by (job, node) now and
    after the last round."""
    site_of = {(p.job, p.node): p.site for p in plan.placements}
    out: list[EventRecord] = []
    for key in sorted(jobs):
        about = _regarding(jobs[key])
        now = _by_site(key, held, site_of)
        before = _by_site(key, held_before, site_of)
        for site in sorted(now.keys() | before.keys()):
            n, was = now.get(site, 0), before.get(site, 0)
            if n > was:
                note = (
                    f"held at {site} until its meter shows the mining shed for them "
                    f"(meter first): {_replicas(n)}"
                )
                out.append(EventRecord(about, "WaitingForPower", "Hold", note))
            elif was > n:
                note = f"the meter at {site} shows the room; starting: {_replicas(was - n)}"
                out.append(EventRecord(about, "PowerReleased", "Release", note))
    for e in plan.evictions:
        job = jobs.get(e.job)
        if job is None:
            continue
        where = f"{_replicas(e.replicas)} stopped on {e.node}: {e.reason}"
        if e.reason in POWER_REASONS:
            record = EventRecord(_regarding(job), "ShedForPower", "Evict", where, "Warning")
        elif e.reason == MOVED:
            record = EventRecord(_regarding(job), "Moved", "Evict", where)
        else:
            record = EventRecord(_regarding(job), "Evicted", "Evict", where, "Warning")
        out.append(record)
    return out


def _replicas(n: int) -> str:
    return f"{n} replica" if n == 1 else f"{n} replicas"


def _regarding(job: InferenceJob) -> Regarding:
    meta = job.metadata
    return Regarding("InferenceJob", meta.name, meta.namespace, meta.uid)


def _by_site(
    key: str, held: Mapping[tuple[str, str], int], site_of: Mapping[tuple[str, str], str]
) -> dict[str, int]:
    """Held replicas of ``key`` by site, of rows the plan still has (a row gone with its
    job or node was not released, it was dropped)."""
    out: dict[str, int] = {}
    for (job, node), n in held.items():
        site = site_of.get((job, node))
        if job == key and n > 0 and site is not None:
            out[site] = out.get(site, 0) + n
    return out
