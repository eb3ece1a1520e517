"""The shed order: what a site over its power budget stops first, whoever applies it."""

from __future__ import annotations

from cango_operator.placement import RunningReplicas, shed_order


def row(
    job: str,
    replicas: int = 1,
    *,
    node: str = "n1",
    need_w: int = 770,
    priority: int = 0,
    preemptible: bool = False,
) -> RunningReplicas:
    return RunningReplicas(
        job=f"ns/{job}",
        node=node,
        replicas=replicas,
        need_w=need_w,
        priority=priority,
        preemptible=preemptible,
    )


def stopped(rows: list[RunningReplicas], short_w: int) -> list[tuple[str, str, int]]:
    return [(s.row.job, s.row.node, s.replicas) for s in shed_order(rows, short_w)]


class TestOrder:
    def test_preemptible_first_then_lowest_priority(self) -> None:
        rows = [
            row("vip", priority=100),
            row("batch", priority=10),
            row("spare", priority=50, preemptible=True),
            row("cheap", priority=0, preemptible=True),
        ]
        assert stopped(rows, 4 * 770) == [
            ("ns/cheap", "n1", 1),
            ("ns/spare", "n1", 1),
            ("ns/batch", "n1", 1),
            ("ns/vip", "n1", 1),
        ]

    def test_ties_go_by_job_then_node(self) -> None:
        rows = [row("b", node="n1"), row("a", node="n2"), row("a", node="n1")]
        assert stopped(rows, 3 * 770) == [("ns/a", "n1", 1), ("ns/a", "n2", 1), ("ns/b", "n1", 1)]

    def test_a_row_is_emptied_before_the_next(self) -> None:
        rows = [row("low", 3, priority=1), row("high", 2, priority=9)]
        assert stopped(rows, 4 * 770) == [("ns/low", "n1", 3), ("ns/high", "n1", 1)]


class TestHowMuch:
    def test_only_as_many_replicas_as_cover_the_shortfall(self) -> None:
        rows = [row("low", 4, need_w=700)]
        assert stopped(rows, 701) == [("ns/low", "n1", 2)]
        assert stopped(rows, 700) == [("ns/low", "n1", 1)]

    def test_nothing_when_nothing_is_short(self) -> None:
        assert stopped([row("low", 2)], 0) == []
        assert stopped([row("low", 2)], -500) == []

    def test_everything_that_draws_power_when_all_is_not_enough(self) -> None:
        rows = [row("a", 2), row("b", 1)]
        assert stopped(rows, 10**9) == [("ns/a", "n1", 2), ("ns/b", "n1", 1)]

    def test_rows_drawing_nothing_are_never_stopped(self) -> None:
        rows = [row("free", 2, need_w=0, preemptible=True), row("paid", 1)]
        assert stopped(rows, 770) == [("ns/paid", "n1", 1)]
