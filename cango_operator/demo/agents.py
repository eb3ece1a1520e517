"""The cango fleet's node agents, all in the demo's process.

One :class:`~cango_operator.agent.Agent` per GpuNode with a simulated telemetry source,
each running its own loop (``Agent.run``) on the demo's event loop: the same code the
DaemonSet runs, without a process per node. Two things differ from a real node:

- each agent reports its GpuNode where the GpuNodes live (the hub, federated) and reads
  its Node in its own cluster, through one client per cluster shared by all its agents;
- the load a source reports, and the allocation an agent reports to the hub
  (federated), follow the demo's latest sample of the pods on its node (one list of pods
  for the whole fleet, not one per agent);
- a node without power (a storm) has its agent stopped: no heartbeat, as when the
  machine is off; faults (XID 79) are injected into its simulated GPUs directly.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from functools import partial

from cango_operator.agent import (
    Agent,
    AgentConfig,
    Fault,
    FaultKind,
    KubeClient,
    SimulatedSource,
)
from cango_operator.demo.fleet import DemoNode
from cango_operator.demo.scenario import GpuModel

#: Real seconds between an agent's status writes (the agent's own default). Each write is
#: a GpuNode event the operator reacts to; 140 agents at this interval are about 10 a
#: second, which two shared cores carry beside everything else.
AGENT_INTERVAL_S = 15.0


@dataclass
class _Running:
    agent: Agent
    source: SimulatedSource
    stop: asyncio.Event
    task: asyncio.Task[None] | None = None


class SimulatedAgents:
    """Node agents with simulated GPUs for ``nodes``, started and stopped together."""

    def __init__(
        self,
        kube_of: Callable[[DemoNode], KubeClient],
        nodes: Iterable[DemoNode],
        models: Mapping[str, GpuModel],
        gpus_in_use: Callable[[str], int],
        *,
        interval_s: float = AGENT_INTERVAL_S,
        allocation: Callable[[str], int] | None = None,
    ) -> None:
        """``allocation``: the GPUs of the pods bound to a node, for agents reporting to a
        hub (``None``: the operator writes ``allocatedGpus`` itself)."""
        self._agents: dict[str, _Running] = {}
        for node in nodes:
            kube = kube_of(node)
            model = models[node.model]
            source = SimulatedSource(
                node.model,
                node.gpus,
                memory_mib=model.memory_mib,
                max_power_w=model.max_power_w,
                gpus_in_use=partial(gpus_in_use, node.name),
                seed=node.name,
            )
            config = AgentConfig(
                node_name=node.name, interval_s=interval_s, register=False, power_cap=True
            )
            agent = Agent(
                config,
                source,
                kube,
                allocation=partial(allocation, node.name) if allocation is not None else None,
            )
            self._agents[node.name] = _Running(agent, source, asyncio.Event())

    def __len__(self) -> int:
        return len(self._agents)

    def start(self) -> None:
        for running in self._agents.values():
            self._start(running)

    def _start(self, running: _Running) -> None:
        if running.task is not None and not running.task.done() and not running.stop.is_set():
            return  # already running (a stopped one may still be finishing its interval)
        running.stop = asyncio.Event()
        running.task = asyncio.create_task(running.agent.run(running.stop))

    async def stop(self) -> None:
        for running in self._agents.values():
            running.stop.set()
        tasks = [r.task for r in self._agents.values() if r.task is not None]
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.gather(*tasks, return_exceptions=True)

    def set_dark(self, names: Iterable[str], dark: bool) -> None:
        """Stop the agents of nodes that lost power (``dark``), or start them again."""
        for name in names:
            running = self._agents.get(name)
            if running is None:
                continue
            if dark:
                running.stop.set()
            else:
                self._start(running)

    def fail_gpu(self, node: str, gpu: int, xid: int) -> None:
        """GPU ``gpu`` of ``node`` reports XID ``xid`` from its next reading on."""
        self._agents[node].source.inject(Fault(gpu, FaultKind.XID, xid))
