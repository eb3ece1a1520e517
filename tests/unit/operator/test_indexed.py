"""No round before kopf has listed the whole fleet: the first handler call marks the
indexes complete (kopf calls no handler before every index has its initial listing), and
only then do rounds the operator's own clock wants run."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace
from typing import Any

import kopf

from cango_operator.operator import handlers
from cango_operator.operator.options import OperatorOptions
from cango_operator.operator.planner import Planner
from cango_operator.operator.round import Reconciler


class Rounds:
    def __init__(self) -> None:
        self.calls: list[frozenset[str]] = []

    async def __call__(self, reasons: frozenset[str]) -> None:
        self.calls.append(reasons)


def runtime(rounds: Rounds) -> handlers.Runtime:
    reconciler = Reconciler.__new__(Reconciler)  # only its stale-node set is read here
    reconciler._stale = frozenset()
    return handlers.Runtime(
        options=OperatorOptions(peering=None),
        planner=Planner(rounds, debounce=0.0),
        reconciler=reconciler,
    )


def node_event() -> dict[str, Any]:
    return {
        "memo": SimpleNamespace(runtime=None),
        "resource": kopf.Resource("", "v1", "nodes"),
        "body": kopf.Body({"metadata": {"name": "n1"}, "spec": {}, "status": {}}),
        "type": None,
    }


class TestIndexesComplete:
    async def test_the_first_handler_call_marks_them_and_asks_for_one_round(self) -> None:
        rounds = Rounds()
        rt = runtime(rounds)
        assert not rt.indexed
        event = node_event()
        event["memo"].runtime = rt

        await handlers.on_change(**event)
        await handlers.on_change(**event)  # the same Node again: nothing new
        await asyncio.wait_for(rt.planner.wait_idle(), 5)

        assert rt.indexed
        assert rounds.calls == [frozenset({"indexes complete", "nodes listed"})]
        await rt.planner.stop()

    async def test_a_peering_keepalive_marks_them_too(self) -> None:
        rounds = Rounds()
        rt = runtime(rounds)
        await handlers.on_peering(memo=SimpleNamespace(runtime=rt))
        await asyncio.wait_for(rt.planner.wait_idle(), 5)
        assert rt.indexed
        assert rounds.calls == [frozenset({"indexes complete"})]
        await rt.planner.stop()
