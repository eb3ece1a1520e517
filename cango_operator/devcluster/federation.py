"""A local federation: one hub cluster and site clusters joined through Open Cluster
Management, all as plain processes on this machine.

The hub is a kwokctl cluster without nodes or scheduler (admission on, so the policy
that keeps each site to its own GpuNodes is enforced; the controller-manager signs the
sites' certificate requests with the cluster CA). Beside it runs OCM's registration
controller, and, for a federation that runs OCM's own scheduling (the demo's baseline),
its placement controller and its work controller with ManifestWorkReplicaSets on. Each
site is a kwokctl cluster of its own (scheduler, kwok nodes) with OCM's
klusterlet agent, which joins the hub the way a real site does: with a bootstrap
kubeconfig only, pending until the hub accepts it, then with a client certificate of its
own, good for its namespace on the hub and what the site-access policy grants.

With ``wan_links``, each site reaches the hub only through a WAN link of its own (a
loopback TCP proxy process, :mod:`cango_operator.devcluster.wanlink`) that the test bed
cuts, heals and delays: the site's bootstrap kubeconfig names the link as the hub, and
so does the hub kubeconfig its agent writes.

State (kubeconfigs, logs, the process list) lives in the work directory; ``down`` stops
every process and cluster it started.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from cango_operator.devcluster.cluster import (
    DEFAULT_WORKDIR,
    LocalCluster,
    cluster_down,
    cluster_up,
)
from cango_operator.devcluster.identity import service_account_kubeconfig
from cango_operator.devcluster.sitelink import (
    bootstrap_via,
    hub_address,
    is_link_process,
    link_argv,
)
from cango_operator.devcluster.tools import REPO_ROOT, ensure_ocm_dir, find_tool, free_port
from cango_operator.devcluster.wanclient import LinkStatus, WanLink
from cango_operator.errors import ClusterError

#: Where the hub's OCM parts and the bootstrap identity live.
HUB_NAMESPACE = "open-cluster-management"
#: Where a site's agent keeps its hub credentials (a Secret) at the site.
AGENT_NAMESPACE = "open-cluster-management-agent"
BOOTSTRAP_SERVICE_ACCOUNT = "agent-registration-bootstrap"
HUB_KUBECONFIG_SECRET = "hub-kubeconfig-secret"
#: A ManifestWork missing from the hub is removed at the site only after this long: a hub
#: restored from an old backup must not wipe the sites (OCM's default is one hour).
EVICTION_GRACE = "240h"
#: How often a site's work agent reports its workloads' status to the hub.
STATUS_SYNC = "2s"
CHART = REPO_ROOT / "charts" / "cango-operator"
CRDS = REPO_ROOT / "crds"
#: OCM's CRDs by where they go (files in the ``crds/`` directory of the OCM build).
SITE_CRDS = ("appliedmanifestworks", "clusterclaims")
#: How often a site's agent renews its lease on the hub. The hub marks a site whose lease
#: is older than 5 of these Available=Unknown (OCM's registration controller), so a cut
#: link shows within 20-25 s rather than OCM's default 60 s (5 min).
LEASE_DURATION_S = 5
#: How old a lease is when the hub marks its site Unknown (OCM's ``leaseDurationTimes``).
LEASE_GRACE_S = 5 * LEASE_DURATION_S


@dataclass(frozen=True)
class SiteCluster:
    """One site cluster of the federation and its agent's hub credentials."""

    name: str
    cluster: LocalCluster
    agent_dir: Path
    #: The site's WAN link to the hub, when the federation has them.
    link: WanLink | None = None

    @property
    def hub_kubeconfig(self) -> Path:
        """The site's own identity on the hub (written by its agent once accepted)."""
        return self.agent_dir / "kubeconfig"

    @property
    def bootstrap_kubeconfig(self) -> Path:
        """What the site's agent joins with: the federation's, or with a link its own
        copy whose server is the link."""
        fed_dir = self.agent_dir.parent
        return fed_dir / (
            f"{self.name}-bootstrap.kubeconfig" if self.link else "bootstrap.kubeconfig"
        )


@dataclass(frozen=True)
class Federation:
    name: str
    workdir: Path
    hub: LocalCluster
    sites: tuple[SiteCluster, ...]
    ocm_dir: Path
    #: Whether sites join through a WAN link of their own (the default of join_site).
    wan_links: bool = False

    def site(self, name: str) -> SiteCluster:
        for site in self.sites:
            if site.name == name:
                return site
        raise KeyError(name)


def _state_file(workdir: Path, name: str) -> Path:
    return workdir / f"{name}.federation.json"


def _hub_name(name: str) -> str:
    return f"{name}-hub"


def _site_cluster_name(name: str, site: str) -> str:
    return f"{name}-{site}"


def agent_pids(fed: Federation) -> dict[str, int]:
    """The OCM processes of the federation by label (``hub-registration``, ``<site>-agent``)."""
    return dict(_State.load(fed.workdir, fed.name).pids)


def _pki(workdir: Path, cluster: str) -> Path:
    return workdir / "clusters" / cluster / "pki"


def _hub_args(workdir: Path, hub: str) -> list[str]:
    pki = _pki(workdir, hub)
    return [
        "--disable",
        "kube-scheduler,kwok-controller",
        "--kube-admission",
        "--extra-args",
        f"kube-controller-manager=cluster-signing-cert-file={pki / 'ca.crt'}",
        "--extra-args",
        f"kube-controller-manager=cluster-signing-key-file={pki / 'ca.key'}",
    ]


# -- processes -------------------------------------------------------------------------


#: The processes this Python process started (kept, so that they are not reported as
#: leaked while running; ``down`` stops them by pid, from any process).
_STARTED: list[subprocess.Popen[bytes]] = []


def _start(fed_dir: Path, label: str, argv: Sequence[str]) -> int:
    """Start a long-running process in its own session, its output in ``label.log``."""
    log = fed_dir / f"{label}.log"
    with log.open("ab") as out:
        proc = subprocess.Popen(
            list(argv),
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=dict(os.environ),
            start_new_session=True,
        )
    _STARTED.append(proc)
    return proc.pid


def _is_ours(pid: int, ocm: str) -> bool:
    """Whether ``pid`` still runs our OCM binary or a WAN link (a pid may have been
    reused)."""
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return False
    cmdline = [arg.decode(errors="replace") for arg in raw]
    return bool(cmdline) and (cmdline[0] == ocm or is_link_process(cmdline))


def _stop(pid: int, ocm: str, timeout: float = 10.0) -> None:
    """SIGTERM, then SIGKILL after ``timeout``; through our Popen when this process
    started it (so that it is reaped), else by pid."""
    mine = [p for p in _STARTED if p.pid == pid]
    for proc in mine:
        _STARTED.remove(proc)
        proc.terminate()
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout)
    if mine or not _is_ours(pid, ocm):
        return
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and _is_ours(pid, ocm):
        time.sleep(0.1)
    if _is_ours(pid, ocm):
        os.kill(pid, signal.SIGKILL)


# -- the hub ---------------------------------------------------------------------------


def _apply_files(cluster: LocalCluster, paths: Sequence[Path]) -> None:
    args = ["apply", "--server-side", "--force-conflicts"]
    for path in paths:
        args += ["-f", str(path)]
    cluster.kubectl(*args)


def _wait_crds(cluster: LocalCluster, names: Sequence[str], timeout: float = 60) -> None:
    cluster.kubectl(
        "wait",
        "--for=condition=Established",
        f"--timeout={int(timeout)}s",
        *[f"crd/{n}" for n in names],
    )


def site_access_manifest(cluster: LocalCluster) -> str:
    """The hub objects that let sites report their own GpuNodes and nothing else: the
    chart's, rendered by helm (one place for the rule)."""
    helm = find_tool("helm", cluster.bin_dir)
    proc = subprocess.run(
        [
            helm,
            "template",
            "cango",
            str(CHART),
            "--namespace",
            HUB_NAMESPACE,
            "--set",
            "federation.enabled=true",
            "--show-only",
            "templates/site-access.yaml",
        ],
        check=False,
        capture_output=True,
        text=True,
        timeout=60,
    )
    if proc.returncode != 0:
        raise ClusterError(f"helm template of the site access policy failed: {proc.stderr}")
    return proc.stdout


def _install_hub(hub: LocalCluster, ocm_dir: Path) -> None:
    crds = sorted(p for p in (ocm_dir / "crds").glob("*.yaml") if not _site_crd(p))
    _apply_files(hub, [*crds, CRDS])
    hub.kubectl("create", "namespace", HUB_NAMESPACE, check=False)
    hub.kubectl("-n", HUB_NAMESPACE, "create", "serviceaccount", BOOTSTRAP_SERVICE_ACCOUNT)
    hub.kubectl("apply", "--server-side", "-f", "-", input_text=_bootstrap_rbac())
    _wait_crds(
        hub, ["managedclusters.cluster.open-cluster-management.io", "gpunodes.compute.cango.io"]
    )
    hub.kubectl("apply", "--server-side", "-f", "-", input_text=site_access_manifest(hub))


def _site_crd(path: Path) -> bool:
    return any(f"_{plural}." in path.name for plural in SITE_CRDS)


def _bootstrap_rbac() -> str:
    """What a bootstrap identity may do: ask to join (a ManagedCluster, a CSR), no more."""
    role = "open-cluster-management:bootstrap"
    return json.dumps(
        {
            "apiVersion": "v1",
            "kind": "List",
            "items": [
                {
                    "apiVersion": "rbac.authorization.k8s.io/v1",
                    "kind": "ClusterRole",
                    "metadata": {"name": role},
                    "rules": [
                        {"apiGroups": [""], "resources": ["configmaps"], "verbs": ["get"]},
                        {
                            "apiGroups": ["certificates.k8s.io"],
                            "resources": ["certificatesigningrequests"],
                            "verbs": ["create", "get", "list", "watch"],
                        },
                        {
                            "apiGroups": ["cluster.open-cluster-management.io"],
                            "resources": ["managedclusters"],
                            "verbs": ["get", "create", "list", "watch"],
                        },
                    ],
                },
                {
                    "apiVersion": "rbac.authorization.k8s.io/v1",
                    "kind": "ClusterRoleBinding",
                    "metadata": {"name": f"{role}:agent-registration"},
                    "roleRef": {
                        "apiGroup": "rbac.authorization.k8s.io",
                        "kind": "ClusterRole",
                        "name": role,
                    },
                    "subjects": [
                        {
                            "kind": "ServiceAccount",
                            "name": BOOTSTRAP_SERVICE_ACCOUNT,
                            "namespace": HUB_NAMESPACE,
                        }
                    ],
                },
            ],
        }
    )


def bootstrap_kubeconfig(hub: LocalCluster, dest: Path, duration: str = "24h") -> Path:
    """What the hub admin hands a site that is to join: a kubeconfig of the bootstrap
    identity (a short-lived token), good for asking to join and nothing else."""
    return service_account_kubeconfig(
        hub, HUB_NAMESPACE, BOOTSTRAP_SERVICE_ACCOUNT, dest, duration=duration
    )


# -- a site ----------------------------------------------------------------------------


def site_agent_argv(
    ocm: Path,
    site: str,
    *,
    site_kubeconfig: Path,
    bootstrap: Path,
    agent_dir: Path,
    listen_port: int,
) -> list[str]:
    """The klusterlet agent of one site (registration and work in one process)."""
    return [
        str(ocm),
        "klusterlet-agent",
        f"--kubeconfig={site_kubeconfig}",
        f"--spoke-cluster-name={site}",
        f"--bootstrap-kubeconfig={bootstrap}",
        f"--hub-kubeconfig-dir={agent_dir}",
        f"--hub-kubeconfig={agent_dir / 'kubeconfig'}",
        f"--workload-source-config={agent_dir / 'kubeconfig'}",
        f"--hub-kubeconfig-secret={HUB_KUBECONFIG_SECRET}",
        f"--namespace={AGENT_NAMESPACE}",
        f"--agent-id={site}-agent",
        f"--appliedmanifestwork-eviction-grace-period={EVICTION_GRACE}",
        f"--status-sync-interval={STATUS_SYNC}",
        f"--listen=127.0.0.1:{listen_port}",
        "--disable-leader-election",
    ]


def _prepare_site(cluster: LocalCluster, ocm_dir: Path) -> None:
    crds = sorted(p for p in (ocm_dir / "crds").glob("*.yaml") if _site_crd(p))
    _apply_files(cluster, crds)
    cluster.kubectl("create", "namespace", AGENT_NAMESPACE, check=False)


def accept_site(hub: LocalCluster, site: str, timeout: float = 120) -> None:
    """Accept a site that asked to join: approve its certificate request and let the hub
    accept its cluster; returns once the hub sees it joined."""
    deadline = time.monotonic() + timeout
    accepted = False
    while time.monotonic() < deadline:
        if not accepted:
            got = hub.kubectl("get", "managedcluster", site, "-o", "name", check=False)
            if got.returncode == 0:
                hub.kubectl(
                    "patch",
                    "managedcluster",
                    site,
                    "--type=merge",
                    "-p",
                    json.dumps(
                        {
                            "spec": {
                                "hubAcceptsClient": True,
                                "leaseDurationSeconds": LEASE_DURATION_S,
                            }
                        }
                    ),
                )
                accepted = True
        for csr in _pending_csrs(hub, site):
            hub.kubectl("certificate", "approve", csr, check=False)
        if accepted and _joined(hub, site):
            return
        time.sleep(1.0)
    raise ClusterError(f"site {site} did not join the hub within {timeout:.0f}s")


def _pending_csrs(hub: LocalCluster, site: str) -> list[str]:
    """Certificate requests of the site's agent that nobody has decided on yet."""
    out = hub.kubectl(
        "get",
        "csr",
        "-l",
        f"open-cluster-management.io/cluster-name={site}",
        "-o",
        "json",
        check=False,
    )
    if out.returncode != 0:
        return []
    items = json.loads(out.stdout).get("items") or []
    return [
        str(i["metadata"]["name"]) for i in items if not (i.get("status") or {}).get("conditions")
    ]


def _joined(hub: LocalCluster, site: str) -> bool:
    out = hub.kubectl(
        "get",
        "managedcluster",
        site,
        "-o",
        "jsonpath={.status.conditions[?(@.type=='ManagedClusterJoined')].status}",
        check=False,
    ).stdout
    return out.strip() == "True"


def availability(hub: LocalCluster, site: str) -> str:
    """The site's Available condition on the hub: True, Unknown (its lease ran out: the
    hub cannot reach it), False, or "" before the hub has judged it."""
    return hub.kubectl(
        "get",
        "managedcluster",
        site,
        "-o",
        "jsonpath={.status.conditions[?(@.type=='ManagedClusterConditionAvailable')].status}",
        check=False,
    ).stdout.strip()


def wait_available(hub: LocalCluster, site: str, timeout: float = 120) -> None:
    """Wait until the hub sees the site's agent renew its lease."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if availability(hub, site) == "True":
            return
        time.sleep(1.0)
    raise ClusterError(f"site {site} is not available on the hub after {timeout:.0f}s")


# -- up and down -----------------------------------------------------------------------


def federation_up(
    name: str = "cango-fed",
    sites: Sequence[str] = ("site-1", "site-2", "site-3"),
    workdir: Path = DEFAULT_WORKDIR,
    bin_dir: Path | None = None,
    ocm_dir: Path | None = None,
    *,
    hub_args: Sequence[str] = (),
    site_args: Sequence[str] = (),
    ocm_scheduling: bool = False,
    wan_links: bool = False,
) -> Federation:
    """Start a hub and one cluster per name in ``sites``; each site joins with the
    bootstrap kubeconfig and is accepted. Returns once every site is available.
    ``hub_args`` and ``site_args`` go to ``kwokctl create cluster`` (e.g. an audit policy);
    ``ocm_scheduling`` also runs OCM's Placement and ManifestWorkReplicaSet controllers;
    ``wan_links`` puts a WAN link of its own between each site and the hub."""
    if len(set(sites)) != len(sites) or not sites:
        raise ClusterError(f"site cluster names must be unique and at least one: {list(sites)}")
    if _state_file(workdir, name).exists():
        raise ClusterError(
            f"federation {name} is already up under {workdir} "
            f"({_state_file(workdir, name)}); stop it first with `dev federation down`"
        )
    ocm_dir = ocm_dir if ocm_dir is not None else ensure_ocm_dir()
    fed_dir = workdir / name
    fed_dir.mkdir(parents=True, exist_ok=True)
    state = _State(workdir, name, str(ocm_dir / "ocm"))
    try:
        hub = cluster_up(
            _hub_name(name),
            workdir,
            bin_dir,
            extra_args=[*_hub_args(workdir, _hub_name(name)), *hub_args],
        )
        _install_hub(hub, ocm_dir)
        argv = [
            str(ocm_dir / "ocm"),
            "registration-controller",
            f"--kubeconfig={hub.kubeconfig}",
            f"--namespace={HUB_NAMESPACE}",
            f"--listen=127.0.0.1:{free_port()}",
            "--disable-leader-election",
        ]
        state.add_pid("hub-registration", _start(fed_dir, "hub-registration", argv))
        if ocm_scheduling:
            for label, argv in _scheduling_argvs(ocm_dir / "ocm", hub):
                state.add_pid(label, _start(fed_dir, label, argv))
        bootstrap_kubeconfig(hub, fed_dir / "bootstrap.kubeconfig")
        fed = Federation(name, workdir, hub, (), ocm_dir, wan_links)
        for site in sites:
            fed = join_site(fed, site, site_args)
        for site in sites:
            accept_site(hub, site)
        for member in fed.sites:
            wait_available(hub, member.name)
            _wait_file(member.hub_kubeconfig)
        return fed
    except BaseException:
        federation_down(name, workdir, bin_dir)
        raise


def _scheduling_argvs(ocm: Path, hub: LocalCluster) -> list[tuple[str, list[str]]]:
    """OCM's multi-cluster scheduling on the hub: Placements decided by the placement
    controller, ManifestWorkReplicaSets turned into ManifestWorks by the work controller."""
    common = [f"--kubeconfig={hub.kubeconfig}", "--disable-leader-election"]
    return [
        (
            "hub-placement",
            [str(ocm), "placement-controller", *common, f"--listen=127.0.0.1:{free_port()}"],
        ),
        (
            "hub-work",
            [
                str(ocm),
                "work-controller",
                *common,
                f"--listen=127.0.0.1:{free_port()}",
                "--feature-gates=ManifestWorkReplicaSet=true",
            ],
        ),
    ]


def join_site(
    fed: Federation,
    site: str,
    cluster_args: Sequence[str] = (),
    *,
    wan_link: bool | None = None,
) -> Federation:
    """Start a site cluster whose agent asks the hub to join with the federation's
    bootstrap kubeconfig, and nothing else; the hub has to accept it (:func:`accept_site`).
    ``wan_link`` (default: the federation's ``wan_links``) puts a WAN link of its own
    between the site and the hub. Returns the federation with the site added."""
    cluster = cluster_up(
        _site_cluster_name(fed.name, site), fed.workdir, fed.hub.bin_dir, extra_args=cluster_args
    )
    state = _State.load(fed.workdir, fed.name)
    state.add_site(site)
    _prepare_site(cluster, fed.ocm_dir)
    link = _start_link(fed, site) if (fed.wan_links if wan_link is None else wan_link) else None
    member = SiteCluster(site, cluster, fed.workdir / fed.name / f"{site}-hub", link)
    member.agent_dir.mkdir(exist_ok=True)
    start_agent(fed, member)
    return replace(fed, sites=(*fed.sites, member))


def _start_link(fed: Federation, site: str) -> WanLink:
    """Start the site's WAN link process and write the site's bootstrap kubeconfig that
    names it as the hub."""
    fed_dir = fed.workdir / fed.name
    listen, control = f"127.0.0.1:{free_port()}", f"127.0.0.1:{free_port()}"
    argv = link_argv(listen, hub_address(fed.hub.kubeconfig), control, f"{fed.name}-{site}")
    label = _link_label(site)
    state = _State.load(fed.workdir, fed.name)
    state.add_pid(label, _start(fed_dir, label, argv))
    state.add_link(site, control)
    link = WanLink(control)
    link.wait_ready()
    bootstrap_via(
        fed_dir / "bootstrap.kubeconfig", listen, fed_dir / f"{site}-bootstrap.kubeconfig"
    )
    return link


def _link_label(site: str) -> str:
    return f"{site}-wan"


def start_agent(fed: Federation, member: SiteCluster) -> None:
    """Start the site's klusterlet agent (again: it keeps the credentials it has)."""
    fed_dir = fed.workdir / fed.name
    argv = site_agent_argv(
        fed.ocm_dir / "ocm",
        member.name,
        site_kubeconfig=member.cluster.kubeconfig,
        bootstrap=member.bootstrap_kubeconfig,
        agent_dir=member.agent_dir,
        listen_port=free_port(),
    )
    label = f"{member.name}-agent"
    _State.load(fed.workdir, fed.name).add_pid(label, _start(fed_dir, label, argv))


def stop_agent(fed: Federation, member: SiteCluster) -> None:
    """Stop the site's klusterlet agent: the hub loses the site, which keeps running what
    it runs (a cut link, as the hub sees it)."""
    _State.load(fed.workdir, fed.name).stop_pid(f"{member.name}-agent")


def leave_site(fed: Federation, site: str) -> Federation:
    """Stop a site's agent and cluster and remove its ManagedCluster from the hub."""
    state = _State.load(fed.workdir, fed.name)
    state.stop_pid(f"{site}-agent")
    state.stop_pid(_link_label(site))
    cluster_down(_site_cluster_name(fed.name, site), fed.workdir, fed.hub.bin_dir)
    fed.hub.kubectl("delete", "managedcluster", site, "--ignore-not-found", "--wait=false")
    state.remove_site(site)
    return replace(fed, sites=tuple(s for s in fed.sites if s.name != site))


class _State:
    """The federation's processes and sites, in a file, so that ``down`` finds them from
    any process (the CLI's ``up`` returns while they run)."""

    def __init__(self, workdir: Path, name: str, ocm: str) -> None:
        self.path = _state_file(workdir, name)
        self.ocm = ocm
        self.pids: dict[str, int] = {}
        self.sites: list[str] = []
        self.links: dict[str, str] = {}  # site -> control address of its WAN link
        self.save()

    @classmethod
    def load(cls, workdir: Path, name: str) -> _State:
        path = _state_file(workdir, name)
        if not path.exists():
            raise ClusterError(
                f"no federation {name} under {workdir} (start one with `dev federation up`)"
            )
        data = json.loads(path.read_text())
        state = cls.__new__(cls)
        state.path = path
        state.ocm = str(data["ocm"])
        state.pids = {str(k): int(v) for k, v in dict(data.get("pids") or {}).items()}
        state.sites = [str(s) for s in data.get("sites") or []]
        state.links = {str(k): str(v) for k, v in dict(data.get("links") or {}).items()}
        return state

    def save(self) -> None:
        data = {"ocm": self.ocm, "pids": self.pids, "sites": self.sites, "links": self.links}
        self.path.write_text(json.dumps(data, indent=2))

    def add_pid(self, label: str, pid: int) -> None:
        self.pids[label] = pid
        self.save()

    def stop_pid(self, label: str) -> None:
        pid = self.pids.pop(label, None)
        if pid is not None:
            _stop(pid, self.ocm)
        self.save()

    def add_site(self, site: str) -> None:
        self.sites.append(site)
        self.save()

    def remove_site(self, site: str) -> None:
        self.sites = [s for s in self.sites if s != site]
        self.links.pop(site, None)
        self.save()

    def add_link(self, site: str, control: str) -> None:
        self.links[site] = control
        self.save()


def _wait_file(path: Path, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not path.exists():
        if time.monotonic() > deadline:
            raise ClusterError(f"{path} was not written within {timeout:.0f}s")
        time.sleep(0.5)


def site_link(workdir: Path, name: str, site: str) -> WanLink:
    """The WAN link of ``site`` in the running federation ``name`` (from its state file,
    so from any process)."""
    state = _State.load(workdir, name)
    if site not in state.links:
        raise ClusterError(
            f"site {site} of federation {name} has no WAN link "
            f"(sites with one: {', '.join(sorted(state.links)) or 'none'}; "
            "start the federation with `dev federation up --wan-links`)"
        )
    return WanLink(state.links[site])


def cut_link(fed: Federation, site: str, *, reset: bool = False) -> LinkStatus:
    """Cut the site off the hub: a dead WAN (or, with ``reset``, every connection closed
    and new ones refused); the site cluster runs on."""
    return site_link(fed.workdir, fed.name, site).cut(reset=reset)


def heal_link(fed: Federation, site: str) -> LinkStatus:
    return site_link(fed.workdir, fed.name, site).heal()


def delay_link(fed: Federation, site: str, ms: int) -> LinkStatus:
    """Add ``ms`` of latency to each direction of the site's link (0: none)."""
    return site_link(fed.workdir, fed.name, site).delay(ms)


def federation_down(
    name: str = "cango-fed", workdir: Path = DEFAULT_WORKDIR, bin_dir: Path | None = None
) -> None:
    """Stop every OCM process and cluster of the federation ``name``; a federation that
    is not running is not an error."""
    sites: list[str] = []
    if _state_file(workdir, name).exists():
        state = _State.load(workdir, name)
        for label in list(state.pids):
            state.stop_pid(label)
        sites = state.sites
    for site in sites:
        cluster_down(_site_cluster_name(name, site), workdir, bin_dir)
    cluster_down(_hub_name(name), workdir, bin_dir)
    _state_file(workdir, name).unlink(missing_ok=True)
