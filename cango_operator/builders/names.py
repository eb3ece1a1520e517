"""Deterministic names and label values for the objects the operator owns.

The same (job, node) always gives the same Deployment name, so a restarted operator finds
and adopts what it wrote before instead of creating a second copy. Every name is a valid
DNS-1123 label (at most 63 characters, ``[a-z0-9-]``, alphanumeric at both ends), because
Deployment names flow into pod names and label values.

A short hash of the inputs ends every Deployment name: without it, job ``a-b`` on node
``c`` and job ``a`` on node ``b-c`` would both be ``a-b-c``.
"""

from __future__ import annotations

import hashlib
import re

MAX_LABEL = 63
HASH_LEN = 6
_LABEL_RE = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_DNS1035_RE = re.compile(r"^[a-z]([-a-z0-9]*[a-z0-9])?$")
_LABEL_VALUE_RE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")
_NOT_LABEL_CHAR = re.compile(r"[^a-z0-9-]+")


def short_hash(*parts: str, length: int = HASH_LEN) -> str:
    """A stable hex digest of the parts (NUL-separated, so ("a", "bc") != ("ab", "c"))."""
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()[:length]


def _squash(text: str) -> str:
    """Lowercase, runs of characters a label may not hold become one ``-``."""
    return _NOT_LABEL_CHAR.sub("-", text.lower())


def _fit(readable: str, suffix: str) -> str:
    """``readable-suffix``, the readable part cut so the whole is a valid label."""
    room = MAX_LABEL - len(suffix) - 1
    head = readable[:room].strip("-")
    return f"{head}-{suffix}" if head else suffix


def deployment_name(job: str, node: str) -> str:
    """The Deployment that runs ``job``'s replicas on ``node``: ``<job>-<node>-<hash>``."""
    return _fit(_squash(f"{job}-{node}"), short_hash(job, node))


def work_name(namespace: str, job: str) -> str:
    """The ManifestWork carrying ``job`` (of ``namespace``) to one cluster. Works of all
    namespaces share the cluster's namespace on the hub, so the name holds both."""
    return _fit(_squash(f"{namespace}-{job}"), short_hash(namespace, job))


def service_name(job: str) -> str:
    """The job's Service: the job's own name when that is a valid DNS-1035 label.

    Service names must start with a letter; job names (DNS-1123 subdomains) may start with
    a digit, hold dots or run to 253 characters. Those get a readable prefix and a hash.
    """
    if len(job) <= MAX_LABEL and _DNS1035_RE.match(job):
        return job
    readable = _squash(job).lstrip("-0123456789")
    return _fit(readable, "j" + short_hash(job) if not readable else short_hash(job))


def label_value(value: str) -> str:
    """``value`` itself when it is a valid label value, else a readable prefix and a hash."""
    if len(value) <= MAX_LABEL and _LABEL_VALUE_RE.match(value):
        return value
    return _fit(_squash(value), short_hash(value))


def is_label(name: str) -> bool:
    """Whether ``name`` is a DNS-1123 label (what every name here must be)."""
    return len(name) <= MAX_LABEL and bool(_LABEL_RE.match(name))


def workload_name(job: str, index: int, gpus: int) -> str:
    """The Kueue Workload of ``job``'s replica ``index``: ``<job>-r<index>-<hash>``. The
    replica's GPUs are in the hash: a Workload is never resized, a replica with other
    GPUs is another Workload."""
    return _fit(_squash(f"{job}-r{index}"), short_hash(job, str(index), str(gpus)))
