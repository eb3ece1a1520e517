"""The demo from start to end: clusters up, fleet in, operator and simulations on, the day
played, the report computed, everything stopped.

Order of things:

1. the control plane (built on first use) and clusters of our own: federated (the
   default), a hub and one site cluster per region joined through Open Cluster
   Management (built on first use too); else one cluster (see :mod:`.topology`);
2. the CRDs, the tenants' namespaces, the kwok Nodes of both fleets at their sites;
3. the simulated meters (HTTP feed server), the Sites pointing at them, the GpuNodes;
4. the operator (``cango-operator run`` in a child process) and the simulated node
   agents (in this process);
5. the day: events and submissions at their simulated times, a sample of the cluster
   every ``sample_interval_s``, the live view;
6. a last sample, the operator's metrics, the report;
7. clean-up of everything started here, the cluster too unless ``keep_cluster``.

Ctrl-C at any point still runs the clean-up.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any, TextIO, TypeVar

from cango_operator.agent import KubeClient
from cango_operator.demo.agents import SimulatedAgents
from cango_operator.demo.baseline import baseline_namespace, build_cluster_set_binding
from cango_operator.demo.clock import SimClock
from cango_operator.demo.events import EventPlayer
from cango_operator.demo.feeds import FeedServer
from cango_operator.demo.fleet import (
    BASELINE_FLEET,
    CANGO_FLEET,
    DemoNode,
    build_gpunode,
    build_namespace,
    build_node,
    build_site,
    demo_nodes,
)
from cango_operator.demo.kube import DemoKube
from cango_operator.demo.miners import DemoMiners, mining_usd_per_kwh
from cango_operator.demo.miners import describe as describe_miners
from cango_operator.demo.operator_proc import (
    DEMO_OPERATOR_ARGS,
    OperatorProcess,
    log_tail,
    operator_env,
)
from cango_operator.demo.report import Report, build_report
from cango_operator.demo.report_text import render_report
from cango_operator.demo.samples import JobRecord, Snapshot, build_snapshot, record_pods
from cango_operator.demo.scenario import DEFAULT_SCENARIO, Scenario, load_scenario
from cango_operator.demo.scrape import scrape, summarise_metrics
from cango_operator.demo.tenants import TenantCalls, TenantPlayer
from cango_operator.demo.topology import DemoClusters
from cango_operator.demo.view import LiveView
from cango_operator.devcluster import LocalCluster, cluster_down, cluster_up, ensure_bin_dir
from cango_operator.devcluster.cluster import DEFAULT_WORKDIR
from cango_operator.devcluster.federation import Federation, federation_down, federation_up
from cango_operator.devcluster.tools import REPO_ROOT, ensure_ocm_dir
from cango_operator.errors import ClusterError, ConfigError

CRD_DIR = REPO_ROOT / "crds"
CRD_NAMES = ("sites", "gpunodes", "inferencejobs")
TICK_S = 0.2
VIEW_INTERVAL_S = 1.0
SITES_READY_TIMEOUT_S = 20.0
CLUSTER_ATTEMPTS = 2
CRD_TIMEOUT_S = 60.0
AGENT_THREADS = 12
DEMO_THREADS = 4
T = TypeVar("T")


@dataclass(frozen=True)
class DemoOptions:
    scenario: Path = DEFAULT_SCENARIO
    speed: float | None = None  # None: the scenario's default
    #: A hub and a site cluster per region (True), or everything in one cluster.
    federated: bool = True
    keep_cluster: bool = False
    baseline: bool = True
    report_json: Path | None = None
    #: Unique per run by default, so demos of several people on one machine never meet.
    cluster_name: str = field(default_factory=lambda: f"cango-demo-{os.getpid()}")
    workdir: Path = DEFAULT_WORKDIR
    sample_interval_s: float = 1.5
    #: More arguments for ``cango-operator run`` (e.g. ``--improvement-max-pairs=0``).
    operator_args: tuple[str, ...] = ()
    out: TextIO = field(default=sys.stdout)


class _Say:
    """Timestamped progress lines for the set-up and clean-up phases."""

    def __init__(self, out: TextIO) -> None:
        self.out = out
        self.started = time.monotonic()

    def __call__(self, text: str) -> None:
        self.out.write(f"[demo {time.monotonic() - self.started:6.1f}s] {text}\n")
        self.out.flush()


def run_demo(options: DemoOptions) -> Report:
    """Play the scenario on fresh local clusters; returns the report (also printed)."""
    scenario = load_scenario(options.scenario)
    speed = options.speed if options.speed is not None else scenario.day.default_speed
    if speed <= 0:
        raise ConfigError(f"--speed must be > 0, got {speed}")
    say = _Say(options.out)
    say(
        f"scenario {scenario.name}: {len(scenario.sites)} sites, "
        f"{sum(len(s.node_names()) for s in scenario.sites)} GPU nodes, "
        f"{len(scenario.jobs())} jobs, {len(scenario.events)} events; "
        f"{scenario.day.length_hours:g} h at {speed:g}x = "
        f"{scenario.day.length_seconds / speed:.0f} s"
    )
    say("control plane: using the cached build, or building it now (cold: ~10-20 min)")
    bin_dir = ensure_bin_dir()
    started = time.monotonic()
    if options.federated:
        say("Open Cluster Management: using the cached build, or building it now (cold: ~7 min)")
        ocm_dir = ensure_ocm_dir()
        started = time.monotonic()
        fed = start_federation(options, scenario, bin_dir, ocm_dir, say)
        hub, members = fed.hub, {m.name: m.cluster for m in fed.sites}
        say(
            f"hub {hub.name} and {len(members)} site clusters ({', '.join(members)}) up and "
            f"joined in {time.monotonic() - started:.1f} s"
        )
    else:
        hub, members = start_own_cluster(options, bin_dir, say), {}
        say(f"cluster {options.cluster_name} up in {time.monotonic() - started:.1f} s")
    log_path = options.workdir / f"{options.cluster_name}-demo.log"
    operator_log = options.workdir / f"{options.cluster_name}-operator.log"
    say(f"logs: this process {log_path}, the operator {operator_log}")
    try:
        with _logging_to(log_path):
            demo = _Demo(scenario, speed, options, hub, members, say=say, operator_log=operator_log)
            return asyncio.run(demo.run())
    finally:
        _stop_clusters(options, hub, members, bin_dir, say)
        say("done")


def _stop_clusters(
    options: DemoOptions,
    hub: LocalCluster,
    members: Mapping[str, LocalCluster],
    bin_dir: Path | None,
    say: Callable[[str], None],
) -> None:
    if options.keep_cluster:
        say(f"cluster kept: export KUBECONFIG={hub.kubeconfig}")
        for name, member in members.items():
            say(f"  site cluster {name}: KUBECONFIG={member.kubeconfig}")
        if members:
            say(
                f"stop them with `cango-operator dev federation down --name {options.cluster_name}`"
            )
    elif members:
        federation_down(options.cluster_name, options.workdir, bin_dir)
        say(f"federation {options.cluster_name} stopped")
    else:
        cluster_down(options.cluster_name, options.workdir, bin_dir)
        say(f"cluster {options.cluster_name} stopped")


@contextlib.contextmanager
def _logging_to(path: Path) -> Iterator[None]:
    """Send this process's log records to ``path`` while the live view owns the terminal."""
    root = logging.getLogger()
    saved = root.handlers[:]
    handler = logging.FileHandler(path)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root.handlers = [handler]
    try:
        yield
    finally:
        root.handlers = saved
        handler.close()


def _cluster_exists(name: str, workdir: Path) -> bool:
    """kwokctl keeps a cluster's state under ``clusters/<name>``; we keep its kubeconfig."""
    return (workdir / "clusters" / name).exists() or (workdir / f"{name}.kubeconfig").exists()


def start_own_cluster(
    options: DemoOptions, bin_dir: Path | None, say: Callable[[str], None]
) -> LocalCluster:
    """Start the cluster; once more after a failure.

    Clusters being created on the same machine at the same moment can pick the same free
    ports; the loser fails to start. What it left behind is removed before the retry.
    """
    if _cluster_exists(options.cluster_name, options.workdir):
        raise ClusterError(
            f"a cluster named {options.cluster_name} already exists in {options.workdir} "
            "(another demo?); the demo only plays on a cluster of its own: choose another "
            f"--name, or stop that one with `cango-operator dev cluster down --name "
            f"{options.cluster_name}`"
        )

    def start() -> LocalCluster:
        try:
            return cluster_up(options.cluster_name, options.workdir, bin_dir)
        except BaseException:
            cluster_down(options.cluster_name, options.workdir, bin_dir)
            raise

    return _twice(start, f"cluster {options.cluster_name}", say)


def start_federation(
    options: DemoOptions,
    scenario: Scenario,
    bin_dir: Path | None,
    ocm_dir: Path,
    say: Callable[[str], None],
) -> Federation:
    """A hub and one site cluster per scenario cluster (region), joined and accepted; once
    more after a failure (as :func:`start_own_cluster`; ``federation_up`` removes what it
    started when it fails). The hub also runs OCM's own scheduling when the baseline plays."""
    if _cluster_exists(f"{options.cluster_name}-hub", options.workdir):
        raise ClusterError(
            f"a federation named {options.cluster_name} already exists in {options.workdir} "
            "(another demo?); the demo only plays on clusters of its own: choose another "
            f"--name, or stop that one with `cango-operator dev federation down --name "
            f"{options.cluster_name}`"
        )
    return _twice(
        partial(
            federation_up,
            options.cluster_name,
            scenario.site_clusters(),
            options.workdir,
            bin_dir,
            ocm_dir,
            ocm_scheduling=options.baseline,
        ),
        f"federation {options.cluster_name}",
        say,
    )


def _twice(start: Callable[[], T], what: str, say: Callable[[str], None]) -> T:
    """``start()``, and once more if it fails (it cleans up after itself)."""
    for attempt in range(1, CLUSTER_ATTEMPTS + 1):
        try:
            return start()
        except (ClusterError, subprocess.TimeoutExpired) as exc:
            reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            if attempt == CLUSTER_ATTEMPTS:
                raise ClusterError(f"{what} did not start ({attempt} tries): {reason}") from exc
            say(f"{what}: start failed ({reason[:160]}); trying once more")
    raise AssertionError("unreachable")


class _Blocking:
    """Runs blocking calls of the demo's own in a small pool of its own threads."""

    def __init__(self, workers: int = DEMO_THREADS) -> None:
        self._pool = ThreadPoolExecutor(workers, thread_name_prefix="demo")

    async def __call__(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        call = partial(fn, *args, **kwargs)
        return await asyncio.get_running_loop().run_in_executor(self._pool, call)

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)


class _Demo:
    def __init__(
        self,
        scenario: Scenario,
        speed: float,
        options: DemoOptions,
        hub: LocalCluster,
        members: Mapping[str, LocalCluster],
        *,
        say: Callable[[str], None],
        operator_log: Path,
    ) -> None:
        self.scenario = scenario
        self.operator_log = operator_log
        self.speed = speed
        self.options = options
        self.hub = hub
        self.members = members
        self.say = say
        self.clock = SimClock(speed, scenario.day.length_seconds, scenario.day.start_time)
        self.nodes: dict[str, list[DemoNode]] = {CANGO_FLEET: demo_nodes(scenario, CANGO_FLEET)}
        if options.baseline:
            self.nodes[BASELINE_FLEET] = demo_nodes(scenario, BASELINE_FLEET)
        self.snapshots: list[Snapshot] = []
        self.records: dict[tuple[str, str], JobRecord] = {}
        self.latest: Snapshot | None = None
        self.events: EventPlayer | None = None
        self.miners = DemoMiners(scenario)
        self._run = _Blocking()

    @staticmethod
    def _api_client(cluster: LocalCluster) -> Any:
        from kubernetes import config

        return config.new_client_from_config(config_file=str(cluster.kubeconfig))

    async def run(self) -> Report:
        # The agents' many short calls go through the loop's default executor; the
        # demo's own (samples, submissions, events) through its own, so neither waits
        # behind the other.
        asyncio.get_running_loop().set_default_executor(
            ThreadPoolExecutor(AGENT_THREADS, thread_name_prefix="agents")
        )
        clusters = DemoClusters(self.scenario, self.hub, self.members, self._api_client)
        feeds = FeedServer(self.scenario, self.clock.now, self.miners.meter_kw)
        operator_args = (
            *DEMO_OPERATOR_ARGS,
            *(("--federation",) if clusters.federated else ()),
            *self.options.operator_args,
        )
        operator = OperatorProcess(operator_env(self.hub.env()), self.operator_log, operator_args)
        agents: SimulatedAgents | None = None
        try:
            await self._set_up(clusters, feeds)
            operator.start()
            await operator.wait_ready()
            self.say(f"operator running, metrics at {operator.metrics_url}")
            # One client per cluster for all its agents: GpuNodes at the hub (federated),
            # Nodes at the site.
            agent_kubes = {
                member: KubeClient(client, clusters.hub_client if clusters.federated else None)
                for member, client in clusters.clients.items()
            }
            agents = SimulatedAgents(
                lambda node: agent_kubes[clusters.member_of(node)],
                self.nodes[CANGO_FLEET],
                self.scenario.gpu_models,
                self._gpus_in_use,
                allocation=self._gpus_in_use if clusters.federated else None,
            )
            agents.start()
            self.say(f"{len(self.nodes[CANGO_FLEET])} simulated node agents running")
            self.miners.drive(lambda: self._api_client(self.hub))
            self.say(f"{describe_miners(self.miners)}, a site-mining controller each")
            await self._wait_for_sites(clusters.hub_kube)
            await self._play_day(clusters, agents, operator)
            metrics = summarise_metrics(await scrape(operator.metrics_url))
            report = build_report(
                scenario=self.scenario.name,
                speed=self.speed,
                snapshots=self.snapshots,
                records=self.records,
                events=self.events.records if self.events else [],
                operator_metrics=metrics,
                worlds=list(self.nodes),
                mining_usd_per_kwh=mining_usd_per_kwh(self.scenario),
                gpu_usd_per_hour=self.scenario.gpu_value_usd_per_hour,
            )
        finally:
            if agents is not None:
                await agents.stop()
            await self.miners.stop()
            code = operator.stop()
            await feeds.stop()
            clusters.close()
            self._run.close()
            operator_said = "" if code is None else f"operator stopped (exit {code}), "
            self.say(f"{operator_said}agents and feeds stopped")
        text = render_report(report)
        self.options.out.write("\n" + text + "\n\n")
        if operator.exited() not in (0, None, -15):
            self.say(f"operator log ends:\n{log_tail(operator.log_path)}")
        if self.options.report_json is not None:
            self.options.report_json.write_text(report.to_json() + "\n")
            self.say(f"report written to {self.options.report_json}")
        return report

    # -- set-up ---------------------------------------------------------------------------

    async def _set_up(self, clusters: DemoClusters, feeds: FeedServer) -> None:
        if not CRD_DIR.is_dir():
            raise ClusterError(f"{CRD_DIR} is missing: generate the CRDs with `make crds`")
        await self._run(self.hub.kubectl, "apply", "-f", str(CRD_DIR))
        await self._wait_for_crds()
        self.say("CRDs installed")
        name = self.scenario.name
        hub = clusters.hub_kube
        for tenant in self.scenario.tenants:
            await self._run(hub.create_namespace, build_namespace(tenant.namespace, name))
            if not self.options.baseline:
                continue
            # Federated, the baseline's Placements live on the hub and its Deployments at
            # the sites, in namespaces made there beforehand, as a user's set-up would.
            baseline = build_namespace(baseline_namespace(tenant.namespace), name)
            for kube in {id(k): k for k in [hub, *clusters.kubes.values()]}.values():
                await self._run(kube.create_namespace, baseline)
            if clusters.federated:
                binding = build_cluster_set_binding(baseline["metadata"]["name"])
                await self._run(hub.create_custom, binding, exists_ok=True)
        all_nodes = [n for fleet in self.nodes.values() for n in fleet]
        started = time.monotonic()
        for member, nodes in clusters.by_member(all_nodes).items():
            await self._run(clusters.kubes[member].create_nodes, [build_node(n) for n in nodes])
        where = f" in {len(clusters.kubes)} site clusters" if clusters.federated else ""
        self.say(
            f"{len(all_nodes)} kwok GPU nodes ({', '.join(self.nodes)} fleets){where} in "
            f"{time.monotonic() - started:.1f} s"
        )
        base = await feeds.start()
        await self.miners.start()
        sites = [
            build_site(
                s,
                feeds.url_for(s.name),
                name,
                federated=clusters.federated,
                mining=self.miners.spec_mining(s),
            )
            for s in self.scenario.sites
        ]
        gpunodes = [
            build_gpunode(
                n,
                self.scenario.gpu_models[n.model],
                name,
                clusters.member_of(n) if clusters.federated else None,
            )
            for n in self.nodes[CANGO_FLEET]
        ]
        await self._run(hub.create_cluster_objects, sites + gpunodes)
        self.say(f"{len(sites)} Sites (feeds at {base}/sites/...) and {len(gpunodes)} GpuNodes")

    async def _wait_for_crds(self) -> None:
        """Until every CRD is Established (``kubectl wait`` fails on a CRD without status yet)."""
        names = [f"{n}.compute.cango.io" for n in CRD_NAMES]
        deadline = time.monotonic() + CRD_TIMEOUT_S
        while True:
            proc = await self._run(
                self.hub.kubectl,
                "get",
                "crd",
                *names,
                "-o",
                'jsonpath={range .items[*]}{.status.conditions[?(@.type=="Established")].status}'
                " {end}",
                check=False,
            )
            if proc.returncode == 0 and proc.stdout.split() == ["True"] * len(names):
                return
            if time.monotonic() > deadline:
                raise ClusterError(
                    f"CRDs not Established within {CRD_TIMEOUT_S:.0f} s: "
                    f"{proc.stdout.strip() or proc.stderr.strip()}"
                )
            await asyncio.sleep(0.5)

    async def _wait_for_sites(self, kube: DemoKube) -> None:
        """Until the operator has judged every site from its feed once (it has a phase)."""
        deadline = time.monotonic() + SITES_READY_TIMEOUT_S
        waiting: list[str] = []
        while time.monotonic() < deadline:
            objects = await self._run(kube.read_objects)
            waiting = [
                s["metadata"]["name"]
                for s in objects.sites
                if not (s.get("status") or {}).get("phase")
            ]
            if not waiting:
                self.say("every Site has a phase from its feed; the day starts")
                return
            await asyncio.sleep(1.0)
        self.say(
            f"{len(waiting)} of {len(self.scenario.sites)} Sites have no phase after "
            f"{SITES_READY_TIMEOUT_S:.0f} s (is the operator reading their feeds?); starting"
        )

    # -- the day --------------------------------------------------------------------------

    def _gpus_in_use(self, node: str) -> int:
        snapshot = self.latest
        if snapshot is None:
            return 0
        return sum(r.gpus for r in snapshot.replicas if r.node == node)

    async def _sample(self, clusters: DemoClusters) -> None:
        objects = await self._run(clusters.read_objects)
        real_s, sim_s = self.clock.real_elapsed(), self.clock.now()
        snapshot = build_snapshot(real_s, sim_s, objects)
        record_pods(self.records, real_s, objects, snapshot)
        self.snapshots.append(snapshot)
        self.latest = snapshot

    async def _sampler(self, clusters: DemoClusters, stop: asyncio.Event) -> None:
        while not stop.is_set():
            await self._sample(clusters)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), self.options.sample_interval_s)

    async def _play_day(
        self, clusters: DemoClusters, agents: SimulatedAgents, operator: OperatorProcess
    ) -> None:
        effects = _Effects(clusters, agents, self._run, lambda: self.latest)
        events = self.events = EventPlayer(self.scenario, self.clock, effects, self.nodes)
        hub = clusters.hub_kube
        calls = (
            TenantCalls(
                hub.create_job,
                hub.delete_job,
                hub.create_placed_deployment,
                hub.delete_placed_deployment,
            )
            if clusters.federated
            else TenantCalls(
                hub.create_job, hub.delete_job, hub.create_deployment, hub.delete_deployment
            )
        )
        tenants = TenantPlayer(
            self.scenario,
            calls,
            self._run,
            self.options.baseline,
        )
        view = LiveView(self.scenario.name, self.speed, self.options.out)
        stop = asyncio.Event()
        self.clock.start()
        view.start()
        sampler = asyncio.create_task(self._sampler(clusters, stop))
        try:
            last_view = -VIEW_INTERVAL_S
            while not self.clock.finished():
                if (code := operator.exited()) is not None:
                    raise ClusterError(
                        f"the operator exited with {code} during the day; its log "
                        f"({operator.log_path}) ends:\n{log_tail(operator.log_path)}"
                    )
                now = self.clock.now()
                await events.play_due()
                for action in await tenants.play_due(now):
                    events.log_line(action.sim_t, action.text)
                real = self.clock.real_elapsed()
                if real - last_view >= VIEW_INTERVAL_S:
                    last_view = real
                    view.update(
                        self.clock.now(), self.clock.fraction(), real, self.latest, events.log
                    )
                await asyncio.sleep(TICK_S)
            await events.play_due()
            stop.set()
            await sampler
            await self._sample(clusters)  # the state at the day's end
            view.update(self.clock.now(), 1.0, self.clock.real_elapsed(), self.latest, events.log)
        finally:
            stop.set()
            sampler.cancel()
            view.stop()


class _Effects:
    """:class:`~.events.ClusterEffects` on the demo's clusters and its simulated agents:
    a node's Node is changed in the cluster its site runs in."""

    def __init__(
        self,
        clusters: DemoClusters,
        agents: SimulatedAgents,
        run: _Blocking,
        latest: Callable[[], Snapshot | None],
    ) -> None:
        self.clusters = clusters
        self.agents = agents
        self._run = run
        self.latest = latest

    async def set_dark(self, nodes: list[DemoNode], dark: bool) -> None:
        self.agents.set_dark([n.name for n in nodes], dark)

    async def set_power(self, nodes: list[DemoNode], on: bool) -> None:
        for member, here in self.clusters.by_member(nodes).items():
            kube = self.clusters.kubes[member]
            names = [n.name for n in here]
            await self._run(kube.for_each_node, names, kube.set_power_annotation, on)

    async def taint(self, nodes: list[DemoNode], effect: str | None) -> None:
        for member, here in self.clusters.by_member(nodes).items():
            kube = self.clusters.kubes[member]
            await self._run(
                kube.for_each_node, [n.name for n in here], kube.set_power_lost_taint, effect
            )

    async def fail_gpu(self, node: str, gpu: int, xid: int) -> None:
        self.agents.fail_gpu(node, gpu, xid)

    def busiest_node(self, fleet: str, site: str | None) -> str | None:
        snapshot = self.latest()
        if snapshot is None:
            return None
        held: dict[str, int] = {}
        for replica in snapshot.replicas_of(fleet):
            if replica.serving and site in (None, replica.site):
                held[replica.node] = held.get(replica.node, 0) + replica.gpus
        return max(held, key=lambda node: (held[node], node), default=None)
