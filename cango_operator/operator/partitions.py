"""Replicas at sites the hub cannot reach: kept, replaced, or counted again.

A federated site whose cluster's lease lapsed is out of reach, not necessarily dark: its
replicas may well be serving its users, and the hub can neither see nor stop them. So,
per job (``spec.failover``):

* until ``replaceAfterSeconds`` has passed since the cluster became unreachable (OCM's
  own transition time), or forever with ``replace: false``, its rows there stay in the
  plan as they are: the engine keeps them, nothing new goes to the site, and the job
  counts them as *unknown* (neither ready nor missing);
* after that, its rows there leave the plan for ``status.unreachablePlacements``: the
  engine places replacements elsewhere, while the work at the site is left as it is
  (the applier never writes to an unreachable cluster);
* when the site is reachable again, those rows are counted again beside their
  replacements, and the surplus goes at once: the job keeps its best-placed replicas
  (nearest its client region, then cheapest: ``rank``), whether originals or
  replacements; the works then follow the plan. Rows of a site that is gone are
  forgotten.

Pure: a job and the reachability of sites in, the job's rows out.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from cango_operator.api import InferenceJob, JobPlacement


@dataclass(frozen=True)
class Unreachable:
    """A site the hub cannot reach, and since when (None: never reached)."""

    cluster: str
    since: datetime | None


@dataclass(frozen=True)
class JobRows:
    """A job's rows as the round plans them."""

    placements: tuple[JobPlacement, ...]
    """What the engine treats as running: the recorded placements, less those replaced,
    plus replaced ones whose site is back."""
    unreachable: tuple[JobPlacement, ...]
    """Replaced rows at sites still out of reach (``status.unreachablePlacements``)."""
    unknown: int
    """Replicas at unreachable sites, replaced or not."""
    waiting: tuple[str, ...]
    """Unreachable sites whose rows are kept (not due for replacement yet, or never)."""
    surplus: int = 0
    """Replicas removed because a site came back beside its replacements."""

    @property
    def changed(self) -> bool:
        return bool(self.unreachable or self.unknown or self.waiting)


def replace_due(job: InferenceJob, away: Unreachable, now: datetime) -> bool:
    """Whether the job's replicas at a site out of reach since ``away.since`` are to be
    replaced elsewhere now."""
    failover = job.spec.failover
    if not failover.replace:
        return False
    if away.since is None:
        return True
    return now - away.since >= timedelta(seconds=failover.replace_after_seconds)


def next_replacement(
    job: InferenceJob, waiting: Collection[str], unreachable: Mapping[str, Unreachable]
) -> datetime | None:
    """When the job's rows at the ``waiting`` sites fall due for replacement (None:
    never). No watch event announces that moment; the operator's clock asks."""
    failover = job.spec.failover
    if not failover.replace:
        return None
    grace = timedelta(seconds=failover.replace_after_seconds)
    due = [
        away.since + grace
        for site in waiting
        if (away := unreachable.get(site)) is not None and away.since is not None
    ]
    return min(due, default=None)


#: A site's place in the order of preference for a job (lower: better placed).
SiteRank = Callable[[str], tuple[float, ...]]


def split_rows(
    job: InferenceJob,
    unreachable: Mapping[str, Unreachable],
    sites: Collection[str],
    now: datetime,
    rank: SiteRank = lambda _site: (),
) -> JobRows:
    """The job's rows given which ``sites`` exist and which of them are ``unreachable``;
    ``rank`` orders sites for keeping the best-placed replicas when some come back."""
    status = job.status
    recorded = status.placements if status is not None else []
    replaced = status.unreachable_placements if status is not None else []
    kept: list[JobPlacement] = []
    moved: list[JobPlacement] = []
    waiting: set[str] = set()
    for row in recorded:
        away = unreachable.get(row.site)
        if away is not None and replace_due(job, away, now):
            moved.append(row)
        else:
            kept.append(row)
            if away is not None and row.replicas > 0:
                waiting.add(row.site)
    still_away: list[JobPlacement] = []
    back = False
    for row in replaced:
        if row.site not in sites:
            continue  # the site is gone: nothing of it will come back
        if row.site in unreachable:
            still_away.append(row)
        else:
            kept.append(row)  # back: counted again beside its replacements
            back = True
    surplus = 0
    if back:
        kept, surplus = keep_best(kept, job.spec.replicas, rank)
    unknown = sum(r.replicas for r in [*kept, *moved, *still_away] if r.site in unreachable)
    return JobRows(tuple(kept), tuple(still_away + moved), unknown, tuple(sorted(waiting)), surplus)


def keep_best(
    rows: list[JobPlacement], wanted: int, rank: SiteRank
) -> tuple[list[JobPlacement], int]:
    """``rows`` cut down to ``wanted`` replicas, the worst-ranked sites giving up theirs
    first; and how many went."""
    surplus = sum(r.replicas for r in rows) - wanted
    if surplus <= 0:
        return rows, 0
    removed = surplus
    out = {id(r): r for r in rows}
    for row in sorted(rows, key=lambda r: (rank(r.site), r.site, r.node), reverse=True):
        if surplus == 0:
            break
        cut = min(row.replicas, surplus)
        surplus -= cut
        if cut == row.replicas:
            del out[id(row)]
        else:
            out[id(row)] = _fewer(row, row.replicas - cut)
    return [out[id(r)] for r in rows if id(r) in out], removed


def _fewer(row: JobPlacement, replicas: int) -> JobPlacement:
    """The row with fewer replicas; its GPUs and power (totals for the row) in proportion."""
    share = replicas / row.replicas
    return row.model_copy(
        update={
            "replicas": replicas,
            "gpus": None if row.gpus is None else round(row.gpus * share),
            "power_w": None if row.power_w is None else round(row.power_w * share, 3),
        }
    )
