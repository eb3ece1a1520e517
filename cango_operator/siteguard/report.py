"""What the guard did while the hub was away, told to the hub once it is back.

The report goes where a site's own hub credentials may write: an annotation on each
GpuNode that lost replicas (:data:`api.SITE_GUARD_REPORT_ANNOTATION`), holding one
:class:`api.SiteGuardReport` as JSON, which the hub reads with
:func:`api.parse_site_guard_report`. docs/federation.md shows the format.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from cango_operator.api import ShedEntry, SiteGuardReport


def reports_by_gpunode(
    records: Iterable[ShedEntry],
    *,
    cluster: str,
    unreachable_since: datetime | None,
    reachable_at: datetime,
) -> dict[str, str]:
    """GpuNode name -> the JSON of its annotation: its scale-downs, in order."""
    by_node: dict[str, list[ShedEntry]] = {}
    for record in records:
        by_node.setdefault(record.gpunode, []).append(record)
    return {
        node: SiteGuardReport(
            cluster=cluster,
            unreachable_since=unreachable_since,
            reachable_at=reachable_at,
            shed=shed,
        ).to_json()
        for node, shed in sorted(by_node.items())
    }
