"""The order in which a round's workload writes run: a node's GPUs are freed before new
work lands on it, and nothing else waits for the freeing."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from cango_operator.operator.applier import WriteBatches


def write(label: str) -> Callable[[], Awaitable[Any]]:
    async def run() -> str:
        return label

    run.__name__ = label
    return run


def names(batches: list[list[Callable[[], Awaitable[Any]]]]) -> list[list[str]]:
    return [[w.__name__ for w in batch] for batch in batches]


class TestWriteOrder:
    def test_growing_on_a_node_waits_for_shrinking_on_that_node_only(self) -> None:
        todo = WriteBatches()
        todo.shrink.append(("dead-1", write("delete a@dead-1")))
        todo.shrink.append(("n2", write("shrink b@n2")))
        todo.grow.append(("n2", write("grow c@n2")))
        todo.grow.append(("n3", write("new a@n3")))
        todo.services.append(write("service a"))

        assert names(todo.in_order()) == [
            ["delete a@dead-1", "shrink b@n2", "new a@n3"],
            ["grow c@n2"],
            ["service a"],
        ]

    def test_without_shrinking_everything_grows_at_once_and_services_come_last(self) -> None:
        todo = WriteBatches()
        todo.grow.append(("n1", write("a@n1")))
        todo.grow.append(("n2", write("b@n2")))
        todo.services.append(write("service a"))

        assert names(todo.in_order()) == [["a@n1", "b@n2"], [], ["service a"]]
