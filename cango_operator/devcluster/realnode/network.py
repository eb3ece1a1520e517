"""The real node's pod network, kept on this machine: a bridge, routes that make the pod
and Service ranges unreachable, and a preflight that refuses a leak.

Pods get an address on the bridge and no default route: the bridge carries the gateway
address (the host's side, where the kubelet's probes and the API server are reached),
and nothing is masqueraded. The whole pod range and the Service range are ``unreachable``
routes before the first pod starts (the bridge's own subnet, more specific, is the one
hole), so a packet for them can never take the machine's default route; there is no
kube-proxy, so nothing may dial a Service IP. The bridge plugin turns IP forwarding on
(it does for a gateway); a FORWARD rule drops whatever would leave the bridge, and
teardown puts forwarding back as it was.
"""

from __future__ import annotations

import ipaddress
import json
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cango_operator.errors import ClusterError

FORWARD_SYSCTL = Path("/proc/sys/net/ipv4/ip_forward")


@dataclass(frozen=True)
class PodNetwork:
    """Where the real node's pods live. The defaults collide with nothing on a machine
    whose routes are a default route and its own link (checked by ``preflight``)."""

    bridge: str = "cango0"
    #: Every pod address of the test bed: unreachable but for the node's subnet.
    pod_range: str = "10.244.0.0/16"
    #: The node's pods (host-local IPAM); the bridge holds its first address.
    node_subnet: str = "10.244.0.0/24"
    #: The API server's Service range (its --service-cluster-ip-range): unreachable.
    service_range: str = "10.0.0.0/24"

    @property
    def gateway(self) -> str:
        """The bridge's address: the host as the pods see it."""
        return str(next(ipaddress.ip_network(self.node_subnet).hosts()))

    def probe_addresses(self) -> list[str]:
        """Addresses the preflight asks the kernel about: a pod's, one beyond the node's
        subnet, and the first and last Service addresses."""
        pods = ipaddress.ip_network(self.pod_range)
        node = ipaddress.ip_network(self.node_subnet)
        services = ipaddress.ip_network(self.service_range)
        beyond = next(s for s in pods.subnets(new_prefix=node.prefixlen) if s != node)
        return [str(node[2]), str(beyond[1]), str(services[1]), str(services[-2])]


def cni_conflist(net: PodNetwork, ipam_dir: Path) -> dict[str, Any]:
    """The CNI configuration containerd gives every pod: the bridge plugin, the gateway
    address on the bridge, host-local addresses, no routes (so no default route), no
    masquerading."""
    return {
        "cniVersion": "0.4.0",
        "name": "cango-realnode",
        "plugins": [
            {
                "type": "bridge",
                "bridge": net.bridge,
                "isGateway": True,
                "isDefaultGateway": False,
                "ipMasq": False,
                "hairpinMode": False,
                "ipam": {
                    "type": "host-local",
                    "ranges": [[{"subnet": net.node_subnet, "gateway": net.gateway}]],
                    "routes": [],
                    "dataDir": str(ipam_dir),
                },
            }
        ],
    }


def _ip(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(["ip", *args], capture_output=True, text=True, check=False, timeout=30)
    if check and proc.returncode != 0:
        raise ClusterError(f"ip {' '.join(args)} failed: {proc.stderr.strip()}")
    return proc


def _iptables(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    cmd = ["iptables", "-w", "10", *args]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False, timeout=30)
    if check and proc.returncode != 0:
        raise ClusterError(f"{' '.join(cmd)} failed: {proc.stderr.strip()}")
    return proc


def _forward_rule(net: PodNetwork) -> list[str]:
    return ["FORWARD", "-i", net.bridge, "!", "-o", net.bridge, "-j", "DROP"]


def set_up(net: PodNetwork) -> str:
    """Routes, bridge and FORWARD rule, then the preflight; returns the ip_forward value
    to put back at teardown. Raises ClusterError (and undoes itself) on any leak."""
    forward = FORWARD_SYSCTL.read_text().strip()
    try:
        for cidr in (net.pod_range, net.service_range):
            _ip("route", "replace", "unreachable", cidr)
        if _ip("link", "show", net.bridge, check=False).returncode != 0:
            _ip("link", "add", net.bridge, "type", "bridge")
        _ip("addr", "replace", f"{net.gateway}/{net.node_subnet.split('/')[1]}", "dev", net.bridge)
        _ip("link", "set", net.bridge, "up")
        if _iptables("-C", *_forward_rule(net), check=False).returncode != 0:
            _iptables("-I", *_forward_rule(net))
        preflight(net)
    except ClusterError:
        tear_down(net, forward)
        raise
    return forward


def route_of(address: str) -> dict[str, Any] | None:
    """The kernel's route for ``address`` (``ip route get``); None when unreachable."""
    proc = _ip("-j", "route", "get", address, check=False)
    if proc.returncode != 0:
        # An `unreachable` route answers "No route to host" (or "Network is unreachable").
        if any(s in proc.stderr for s in ("No route to host", "Network is unreachable")):
            return None
        raise ClusterError(f"ip route get {address} failed: {proc.stderr.strip()}")
    routes: list[dict[str, Any]] = json.loads(proc.stdout)
    return routes[0]


def leaks(net: PodNetwork) -> list[str]:
    """Why each probe address would leave the pod bridge (empty: none would)."""
    found = []
    for address in net.probe_addresses():
        route = route_of(address)
        if route is None:
            continue
        if route.get("dev") != net.bridge or "gateway" in route:
            via = f" via {route['gateway']}" if "gateway" in route else ""
            found.append(f"{address} would go out{via} dev {route.get('dev')}")
    return found


def preflight(net: PodNetwork) -> None:
    """Refuse to go on when an address of the pod or Service range is routed anywhere
    but the pod bridge (the default route above all)."""
    found = leaks(net)
    if found:
        raise ClusterError(
            f"pod network preflight: {'; '.join(found)} (pod range {net.pod_range}, "
            f"service range {net.service_range}); refusing to start the real node"
        )


def tear_down(net: PodNetwork, forward: str) -> None:
    """Remove the FORWARD rule, the bridge and the routes; put ip_forward back."""
    while _iptables("-C", *_forward_rule(net), check=False).returncode == 0:
        _iptables("-D", *_forward_rule(net))
    _ip("link", "del", net.bridge, check=False)
    for cidr in (net.pod_range, net.service_range):
        _ip("route", "del", "unreachable", cidr, check=False)
    FORWARD_SYSCTL.write_text(forward + "\n")


def residue(net: PodNetwork) -> list[str]:
    """What of the network is still there (empty after a clean teardown)."""
    left = []
    if _ip("link", "show", net.bridge, check=False).returncode == 0:
        left.append(f"bridge {net.bridge}")
    routes = _ip("route", "show", "type", "unreachable").stdout
    left += [
        f"route {line.strip()}"
        for line in routes.splitlines()
        if line.split()[1] in (net.pod_range, net.service_range)
    ]
    if _iptables("-C", *_forward_rule(net), check=False).returncode == 0:
        left.append("iptables FORWARD rule")
    return left
