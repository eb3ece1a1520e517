"""values.schema.json really constrains: each bad value is refused by `helm template`
with a message naming where it is, and good values still render."""

from __future__ import annotations

from typing import Any

import pytest

from tests.chart.helm import Helm


def nest(path: str, value: Any) -> dict[str, Any]:
    """{"a": {"b": value}} from "a.b"."""
    out: dict[str, Any] = {}
    node = out
    *parents, leaf = path.split(".")
    for key in parents:
        node = node.setdefault(key, {})
    node[leaf] = value
    return out


# (values path, bad value, what the message must also say besides the path)
REFUSED: list[tuple[str, Any, str]] = [
    # wrong types
    ("operator.replicas", "two", "want integer"),
    ("operator.replicas", 1.5, "want integer"),
    ("agent.simulate", "yes", "want boolean"),
    ("operator.args", "run", "want array"),
    ("operator.podAnnotations", {"a": 1}, "want string"),
    ("image.repository", 42, "want string"),
    ("networkPolicy.enabled", "no", "want boolean"),
    # out of range
    ("operator.replicas", 0, "minimum"),
    ("operator.replicas", 6, "maximum"),
    ("operator.ports.metrics", 0, "minimum"),
    ("operator.ports.health", 65536, "maximum"),
    ("agent.ports.metrics", -1, "minimum"),
    ("agent.maxUnavailable", 0, "minimum"),
    ("agent.maxUnavailable", "150%", "pattern"),
    ("operator.livenessProbe.periodSeconds", 0, "minimum"),
    ("operator.tmpSizeLimit", "lots", "pattern"),
    ("image.digest", "sha256:short", "pattern"),
    ("serviceMonitor.interval", "often", "pattern"),
    ("operator.resources.requests.cpu", "a lot", "does not match pattern"),
    # unknown enum values
    ("image.pullPolicy", "Sometimes", "one of"),
    ("podSecurityContext.seccompProfile.type", "Unconfined", "one of"),
    # Pod Security restricted cannot be switched off through values
    ("containerSecurityContext.allowPrivilegeEscalation", True, "false"),
    ("containerSecurityContext.privileged", True, "false"),
    ("podSecurityContext.runAsNonRoot", False, "true"),
    ("podSecurityContext.runAsUser", 0, "minimum"),
    ("containerSecurityContext.capabilities.drop", ["NET_RAW"], "ALL"),
    ("containerSecurityContext.capabilities.add", ["SYS_ADMIN"], "NET_BIND_SERVICE"),
    # restricted mode: namespace names (DNS-1123 labels), each once
    ("operator.watchNamespaces", "tenant-a", "want array"),
    ("operator.watchNamespaces", ["Tenant-A"], "pattern"),
    ("operator.watchNamespaces", ["tenant_a"], "pattern"),
    ("operator.watchNamespaces", ["-tenant"], "pattern"),
    ("operator.watchNamespaces", ["a" * 64], "maxLength"),
    ("operator.watchNamespaces", [""], "minLength"),
    ("operator.watchNamespaces", [7], "want string"),
    ("operator.watchNamespaces", ["tenant-a", "tenant-a"], "are equal"),
    # typos are not silently ignored
    ("operator.replicaCount", 3, "replicaCount"),
    ("agent.simulated", True, "simulated"),
]


class TestSchemaRefusesBadValues:
    @pytest.mark.parametrize(
        ("path", "value", "says"),
        REFUSED,
        ids=[f"{p}={v!r}" for p, v, _ in REFUSED],
    )
    def test_bad_value_is_refused_naming_its_path(
        self, helm: Helm, path: str, value: Any, says: str
    ) -> None:
        proc = helm.template_text(nest(path, value), check=False)
        assert proc.returncode != 0, f"{path}={value!r} was accepted"
        assert "values don't meet the specifications of the schema" in proc.stderr
        # An unknown key is reported at its parent, naming the key; the rest at the path
        # (or inside it: a map entry, a list item).
        parent, _, leaf = path.rpartition(".")
        pointer = "/" + (parent if says == leaf else path).replace(".", "/")
        assert f"at '{pointer}" in proc.stderr, proc.stderr
        assert says in proc.stderr, proc.stderr

    @pytest.mark.parametrize(
        ("path", "missing"), [("operator.ports", "ports"), ("networkPolicy.enabled", "enabled")]
    )
    def test_required_values_cannot_be_removed(self, helm: Helm, path: str, missing: str) -> None:
        # null in a values file deletes the default
        proc = helm.template_text(nest(path, None), check=False)
        assert proc.returncode != 0
        assert f"missing property '{missing}'" in proc.stderr, proc.stderr


ACCEPTED: list[dict[str, Any]] = [
    {"operator": {"replicas": 1}},
    {"operator": {"watchNamespaces": ["tenant-a", "b", "x" * 63, "ns-1"]}},
    {"operator": {"replicas": 5, "ports": {"health": 1, "metrics": 65535}}},
    {"agent": {"maxUnavailable": "25%", "simulate": True}},
    {"image": {"digest": "sha256:" + "0" * 64, "pullPolicy": "Always"}},
    {"operator": {"resources": {"requests": {"cpu": "1.5", "memory": "1Gi"}, "limits": {}}}},
    {"containerSecurityContext": {"capabilities": {"drop": ["ALL"], "add": ["NET_BIND_SERVICE"]}}},
    {"podSecurityContext": {"seccompProfile": {"type": "Localhost", "localhostProfile": "p.json"}}},
]


class TestSchemaAcceptsGoodValues:
    @pytest.mark.parametrize("values", ACCEPTED, ids=[str(v) for v in ACCEPTED])
    def test_edge_values_render(self, helm: Helm, values: dict[str, Any]) -> None:
        proc = helm.template_text(values, check=False)
        assert proc.returncode == 0, proc.stderr
