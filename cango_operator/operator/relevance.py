"""Which watch events can change what a round decides or writes, and which cannot.

Most events of a busy fleet change nothing a round reads: a node agent's heartbeat
(``lastHeartbeatTime``, temperatures, utilisation), a kubelet's Node status heartbeat, a
Deployment's ``observedGeneration`` or conditions, the operator's own status writes
coming back through the watch. Each event is reduced here to the *plan inputs* of its
object: exactly the fields some round reads (the engine, the job statuses, the Node
patches, the site aggregates), measured power with a tolerance, as its kind's projection
says (:mod:`projections`). A round is requested only when those differ from the last
ones that requested one. The round itself still reads the full, current indexes; this
only decides *whether* to plan, never *what*.

Pure: no kopf, no I/O. :class:`ChangeFilter` keeps the last plan inputs per object.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from cango_operator.operator.projections import PROJECTIONS, PlanInputs, meta_of


class ChangeFilter:
    """The last plan inputs of every watched object that requested a round.

    ``wants_round`` is true for a kind it does not know, for an object it has not seen,
    for a deletion, and when the plan inputs differ from the last ones that requested a
    round (so slow drifts of measured power add up until they count).
    """

    def __init__(self) -> None:
        self._last: dict[tuple[str, str, str], PlanInputs] = {}
        self.seen = 0
        self.skipped = 0

    def wants_round(self, plural: str, body: Mapping[str, Any], event: str | None) -> bool:
        self.seen += 1
        project = PROJECTIONS.get(plural)
        if project is None:
            return True
        meta = meta_of(body)
        key = (plural, str(meta.get("namespace") or ""), str(meta.get("name") or ""))
        if event == "DELETED":
            self._last.pop(key, None)
            return True
        inputs = project(body).inputs
        before = self._last.get(key)
        if before is not None and not inputs.differs_from(before):
            self.skipped += 1
            return False
        self._last[key] = inputs
        return True

    def __len__(self) -> int:
        return len(self._last)
