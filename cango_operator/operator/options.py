"""Everything ``cango-operator run`` can be told, in one typed place."""

from __future__ import annotations

from dataclasses import dataclass

from cango_operator.builders import GatewayRef

DEFAULT_LIVENESS = "http://0.0.0.0:8080/healthz"
DEFAULT_PEERING = "cango-operator"
#: Seconds between status writes that only bring a job's usage up to date.
DEFAULT_USAGE_INTERVAL = 300.0


@dataclass(frozen=True)
class OperatorOptions:
    """How to run the operator. ``namespaces`` empty means every namespace.

    ``peering`` is the kopf peering object shared by the instances of one deployment
    (None: standalone, the only instance). ``priority``: among live peers the highest
    acts and the others wait; equal priorities pause each other, so every instance needs
    its own. ``peering_lifetime``: seconds after which a silent peer counts as dead, which
    is also the longest a standby waits before taking over.
    """

    kubeconfig: str | None = None
    namespaces: tuple[str, ...] = ()
    peering: str | None = DEFAULT_PEERING
    priority: int = 0
    peering_lifetime: int = 15
    liveness: str | None = DEFAULT_LIVENESS
    metrics_port: int | None = 9090
    metrics_host: str = "0.0.0.0"
    debounce_seconds: float = 0.3
    node_stale_seconds: float = 60.0
    write_concurrency: int = 16
    usage_interval_seconds: float = DEFAULT_USAGE_INTERVAL
    #: Run as the hub of a federation: watch ManifestWorks (Open Cluster Management) and
    #: send the work of sites with ``spec.cluster`` to their clusters through them.
    federation: bool = False
    #: The improvement stage's size limit in (job, node) pairs (``ImprovementBudget``);
    #: 0: the greedy plan alone; None: the engine's default.
    improvement_max_pairs: int | None = None
    #: Hold jobs labelled with a Kueue LocalQueue to their tenant's quota: one Workload per
    #: replica, only admitted replicas placed (docs/kueue.md).
    kueue: bool = False
    #: Route jobs that ask for an endpoint through this Gateway: an InferencePool and an
    #: HTTPRoute per job, the URL in its status (docs/endpoints.md). None: neither written
    #: nor watched.
    gateway: GatewayRef | None = None

    @property
    def clusterwide(self) -> bool:
        return not self.namespaces

    @property
    def standalone(self) -> bool:
        return self.peering is None
