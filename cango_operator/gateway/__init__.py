"""The inference gateway: Envoy in front of the jobs' replicas, configured from the
Gateway API objects the operator writes (docs/endpoints.md)."""
