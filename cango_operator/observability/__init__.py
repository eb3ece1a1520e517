"""Observability as code: the metric catalogue, the Grafana dashboards and the documents
generated from them and from the chart's alert rules.

``cango-operator observability`` writes (or with ``--check`` verifies) every generated
file; :func:`generated_files` is the single list of them.
"""

from cango_operator.observability.catalogue import all_families
from cango_operator.observability.files import generated_files

__all__ = ["all_families", "generated_files"]
