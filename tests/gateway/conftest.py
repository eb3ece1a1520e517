"""Fixtures of the gateway tests: the end-to-end ones run the operator on the e2e fleet,
whose fixtures are shared from there."""

from __future__ import annotations

from tests.e2e.conftest import e2e_cluster, fleet, start_operator  # noqa: F401
