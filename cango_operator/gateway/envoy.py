"""The gateway's model as Envoy configuration: one listener, and per route and client
region a cluster whose endpoints in that region come first.

Envoy reads it from files (``path_config_source``: LDS, CDS, and one EDS file per
cluster) and follows them when they are replaced, so the controller needs no xDS server.

How a request is served (docs/endpoints.md):

- **API keys**: Envoy's ``api_key_auth`` filter, per route: the key from ``Authorization:
  Bearer``; unknown or missing, 401. The client's name is passed on in
  ``x-cango-client`` (and the key is not).
- **Rate limits**: Envoy's ``local_ratelimit``, per route, a token bucket per client (or
  one for the route without keys); over it, 429 with ``Retry-After: 1``.
- **Region**: the request's ``x-cango-client-region`` header, else the job's
  ``clientRegion``, picks the cluster; its region's replicas are priority 0 and every
  other replica priority 1, so Envoy spills to the others only as region's replicas fail
  health checks or are ejected, and retries go to the next priority at once.
- **Failover**: active health checks every second, a replica refusing a connection
  ejected at once, and up to 3 retries on another replica (``previous_hosts``) and
  another priority (``previous_priorities``) for connection failures, resets, and 503.
- **Endpoint picker** (a route whose pool has one): Envoy's ``ext_proc`` asks it, with
  the region's replicas as the subset hint, and the cluster's ``override_host`` policy
  sends the request where it says; a picker that fails or is away, or a pick that fails,
  leaves the choice to Envoy as above (the one loss: a request whose body the picker held
  when it died, since Envoy no longer has it).
- **Load**: a busy replica (:mod:`load`) is degraded, used only when no priority has
  healthy replicas enough.
"""

from __future__ import annotations

import hashlib
import ipaddress
import re
from typing import Any

from cango_operator.gateway.model import Backend, Certificate, GatewayModel, Picker, Route

TYPE = "type.googleapis.com/"
#: The request header that names the client's region (set by an edge that knows it, or the
#: client itself); absent: the route's job's clientRegion.
REGION_HEADER = "x-cango-client-region"
#: The header the gateway passes upstream naming the API key's client.
CLIENT_HEADER = "x-cango-client"
API_KEY_FILTER = "envoy.filters.http.api_key_auth"
RATE_LIMIT_FILTER = "envoy.filters.http.local_ratelimit"
#: A bucket no route reaches: local_ratelimit needs one even where only descriptors limit.
UNLIMITED_TOKENS = 1_000_000_000
HEALTH_PATH = "/health"
RETRIES = 3
#: Connections one gateway holds open at most.
MAX_CONNECTIONS = 50_000
MAX_RETRIES_IN_FLIGHT = 10_000
EXT_PROC_FILTER = "envoy.filters.http.ext_proc"
SET_METADATA_FILTER = "envoy.filters.http.set_metadata"
#: The endpoint picker protocol (Gateway API Inference Extension): the picker's choice
#: comes back as dynamic metadata PICK_NAMESPACE/PICK_KEY ("IP:PORT"), and the candidates
#: it may choose from go to it as SUBSET_NAMESPACE/SUBSET_KEY (a list of "IP:PORT").
PICK_NAMESPACE = "envoy.lb"
PICK_KEY = "x-gateway-destination-endpoint"
SUBSET_NAMESPACE = "envoy.lb.subset_hint"
SUBSET_KEY = "x-gateway-destination-endpoint-subset"
#: A request header the Inference Extension's picker obeys for its conformance tests;
#: never passed to it from a client, who could otherwise choose the replica.
PICKER_TEST_HEADER = "test-epp-endpoint-selection"
#: How long a picker may take to answer before Envoy picks alone.
PICKER_TIMEOUT = "1s"
#: The one admin path the stats listener serves (Prometheus text format).
STATS_PATH = "/stats/prometheus"
#: The stats listener's cluster, Envoy's own admin interface: a name no route's cluster
#: can take (theirs always hold '/').
ADMIN_CLUSTER = "cango_admin"


def cluster_name(route: Route, region: str | None) -> str:
    """One cluster per route and preferred region (None: no preference):
    ``NAMESPACE/NAME/PATH/REGION``, with no '.' (Envoy's stats split names at dots, and
    its Prometheus output takes the cluster's name up to the first one)."""
    path = route.path.replace(".", "%2E")
    return f"{route.namespace}/{route.name}/{path}/{region or '*'}"


def eds_file(cluster: str) -> str:
    """The EDS file of a cluster: a readable stem and a hash (cluster names hold '/')."""
    stem = re.sub(r"[^A-Za-z0-9_.-]+", "-", cluster).strip("-")[:80]
    return f"eds-{stem}-{hashlib.sha256(cluster.encode()).hexdigest()[:10]}.yaml"


def bootstrap(
    config_dir: str,
    admin_address: str,
    admin_port: int,
    stats: tuple[str, int] | None = None,
) -> dict[str, Any]:
    """Envoy's bootstrap: the admin interface, and LDS and CDS from ``config_dir``; with
    ``stats`` (address, port), a listener there serving only the admin's
    ``GET /stats/prometheus``, so Prometheus can scrape a gateway whose admin interface
    (which can also stop Envoy) stays on loopback."""
    boot: dict[str, Any] = {
        "node": {"id": "cango-gateway", "cluster": "cango-gateway"},
        "admin": {"address": _socket(admin_address, admin_port)},
        "dynamic_resources": {
            "lds_config": _file_source(config_dir, "lds.yaml"),
            "cds_config": _file_source(config_dir, "cds.yaml"),
        },
        # Bound what one gateway accepts, so overload is refused, not queued without end.
        "overload_manager": {
            "resource_monitors": [
                {
                    "name": "envoy.resource_monitors.global_downstream_max_connections",
                    "typed_config": {
                        "@type": TYPE + "envoy.extensions.resource_monitors."
                        "downstream_connections.v3.DownstreamConnectionsConfig",
                        "max_active_downstream_connections": MAX_CONNECTIONS,
                    },
                }
            ]
        },
    }
    if stats is not None:
        boot["static_resources"] = _stats_resources(admin_address, admin_port, *stats)
    return boot


def _stats_resources(
    admin_address: str, admin_port: int, address: str, port: int
) -> dict[str, Any]:
    stats_route = {
        "match": {
            "path": STATS_PATH,
            "headers": [{"name": ":method", "string_match": {"exact": "GET"}}],
        },
        "route": {"cluster": ADMIN_CLUSTER},
    }
    manager = {
        "@type": TYPE
        + "envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager",
        "stat_prefix": "stats",
        "route_config": {
            "name": "stats",
            "virtual_hosts": [
                {
                    "name": "stats",
                    "domains": ["*"],
                    "routes": [
                        stats_route,
                        {
                            "match": {"prefix": "/"},
                            "direct_response": {
                                "status": 404,
                                "body": {"inline_string": "only GET /stats/prometheus\n"},
                            },
                        },
                    ],
                }
            ],
        },
        "http_filters": [
            {
                "name": "envoy.filters.http.router",
                "typed_config": {"@type": TYPE + "envoy.extensions.filters.http.router.v3.Router"},
            }
        ],
    }
    return {
        "listeners": [
            {
                "name": "stats",
                "address": _socket(address, port),
                "filter_chains": [
                    {
                        "filters": [
                            {
                                "name": "envoy.filters.network.http_connection_manager",
                                "typed_config": manager,
                            }
                        ]
                    }
                ],
            }
        ],
        "clusters": [
            {
                "name": ADMIN_CLUSTER,
                "type": "STATIC",
                "connect_timeout": "1s",
                "load_assignment": {
                    "cluster_name": ADMIN_CLUSTER,
                    "endpoints": [
                        {
                            "lb_endpoints": [
                                {"endpoint": {"address": _socket(admin_address, admin_port)}}
                            ]
                        }
                    ],
                },
            }
        ],
    }


def files(model: GatewayModel, config_dir: str) -> dict[str, dict[str, Any]]:
    """Every file Envoy reads, by name: ``lds.yaml``, ``cds.yaml`` and the EDS files."""
    clusters: list[dict[str, Any]] = []
    out: dict[str, dict[str, Any]] = {}
    for route in model.routes:
        for region in _cluster_regions(route):
            name = cluster_name(route, region)
            clusters.append(_cluster(name, config_dir))
            out[eds_file(name)] = _resources([_load_assignment(name, route.backends, region)])
    clusters += [_picker_cluster(picker) for picker in _pickers(model)]
    out["cds.yaml"] = _resources(clusters)
    out["lds.yaml"] = _resources([_listener(model)])
    return out


def picker_cluster_name(picker: Picker) -> str:
    """The cluster of one endpoint picker (dot-free, as every cluster name here)."""
    digest = hashlib.sha256(f"{picker.host}:{picker.port}".encode()).hexdigest()[:12]
    return f"cango_picker_{digest}"


def _pickers(model: GatewayModel) -> list[Picker]:
    """One per address (routes may ask one picker with different failure modes)."""
    found = {
        (r.picker.host, r.picker.port): r.picker
        for r in model.routes
        if r.picker is not None and not r.closed
    }
    return [found[address] for address in sorted(found)]


def _picker_cluster(picker: Picker) -> dict[str, Any]:
    name = picker_cluster_name(picker)
    try:
        ipaddress.ip_address(picker.host)
        kind = "STATIC"
    except ValueError:
        kind = "STRICT_DNS"  # a Service's name in the cluster's DNS
    return {
        "@type": TYPE + "envoy.config.cluster.v3.Cluster",
        "name": name,
        "type": kind,
        "connect_timeout": "1s",
        # ext_proc is gRPC: HTTP/2 to the picker.
        "typed_extension_protocol_options": {
            "envoy.extensions.upstreams.http.v3.HttpProtocolOptions": {
                "@type": TYPE + "envoy.extensions.upstreams.http.v3.HttpProtocolOptions",
                "explicit_http_config": {"http2_protocol_options": {}},
            }
        },
        "load_assignment": {
            "cluster_name": name,
            "endpoints": [
                {"lb_endpoints": [{"endpoint": {"address": _socket(picker.host, picker.port)}}]}
            ],
        },
        # A picker that is gone is known as gone (checked every second, ejected at its
        # first refused connection) and never tried blindly: a request then fails to
        # open its stream to it at once, and Envoy picks alone, rather than losing the
        # request whose body was already handed to a picker that went away.
        "common_lb_config": {"healthy_panic_threshold": {"value": 0}},
        "health_checks": [
            {
                "timeout": "1s",
                "interval": "1s",
                "unhealthy_threshold": 1,
                "healthy_threshold": 1,
                "tcp_health_check": {},
            }
        ],
        "outlier_detection": {
            "split_external_local_origin_errors": True,
            "consecutive_local_origin_failure": 1,
            "interval": "1s",
            "base_ejection_time": "1s",
            "max_ejection_percent": 100,
        },
    }


def _cluster_regions(route: Route) -> list[str | None]:
    return [*route.regions(), None]


def _resources(items: list[dict[str, Any]]) -> dict[str, Any]:
    return {"resources": items}


def _socket(address: str, port: int) -> dict[str, Any]:
    return {"socket_address": {"address": address, "port_value": port}}


def _file_source(config_dir: str, name: str) -> dict[str, Any]:
    return {
        "resource_api_version": "V3",
        "path_config_source": {
            "path": f"{config_dir}/{name}",
            "watched_directory": {"path": config_dir},
        },
    }


def _cluster(name: str, config_dir: str) -> dict[str, Any]:
    return {
        "@type": TYPE + "envoy.config.cluster.v3.Cluster",
        "name": name,
        "type": "EDS",
        "eds_cluster_config": {"eds_config": _file_source(config_dir, eds_file(name))},
        "connect_timeout": "1s",
        # The endpoint picker's choice when it made one (a host of this cluster), else
        # least requests by priority.
        "load_balancing_policy": _policy(
            "envoy.load_balancing_policies.override_host",
            "envoy.extensions.load_balancing_policies.override_host.v3.OverrideHost",
            override_host_sources=[
                {"metadata": {"key": PICK_NAMESPACE, "path": [{"key": PICK_KEY}]}}
            ],
            fallback_policy=_policy(
                "envoy.load_balancing_policies.least_request",
                "envoy.extensions.load_balancing_policies.least_request.v3.LeastRequest",
            ),
        ),
        # No panic routing to replicas that failed: spill to the next priority instead.
        "common_lb_config": {"healthy_panic_threshold": {"value": 0}},
        # Envoy allows 3 retries in flight per cluster by default: a site dying under load
        # needs one per request in flight.
        "circuit_breakers": {
            "thresholds": [{"priority": "DEFAULT", "max_retries": MAX_RETRIES_IN_FLIGHT}]
        },
        "health_checks": [
            {
                "timeout": "1s",
                "interval": "1s",
                "no_traffic_interval": "2s",
                "unhealthy_threshold": 2,
                "healthy_threshold": 1,
                "http_health_check": {"path": HEALTH_PATH},
            }
        ],
        "outlier_detection": {
            "split_external_local_origin_errors": True,
            "consecutive_local_origin_failure": 1,
            "consecutive_5xx": 5,
            "interval": "1s",
            "base_ejection_time": "5s",
            "max_ejection_percent": 100,
        },
    }


def _policy(name: str, proto: str, **config: Any) -> dict[str, Any]:
    return {
        "policies": [
            {
                "typed_extension_config": {
                    "name": name,
                    "typed_config": {"@type": TYPE + proto, **config},
                }
            }
        ]
    }


def _lb_endpoint(backend: Backend) -> dict[str, Any]:
    endpoint: dict[str, Any] = {
        "endpoint": {"address": _socket(backend.ip, backend.port), "hostname": backend.pod}
    }
    if backend.busy:
        # Used only when no priority has healthy replicas enough (:mod:`load`).
        endpoint["health_status"] = "DEGRADED"
    return endpoint


def _load_assignment(
    name: str, backends: tuple[Backend, ...], region: str | None
) -> dict[str, Any]:
    localities: dict[tuple[int, str, str], list[Backend]] = {}
    for backend in backends:
        priority = 0 if region is None or backend.region == region else 1
        localities.setdefault((priority, backend.region or "", backend.site), []).append(backend)
    return {
        "@type": TYPE + "envoy.config.endpoint.v3.ClusterLoadAssignment",
        "cluster_name": name,
        "endpoints": [
            {
                "locality": {"region": region_name, "zone": site},
                "priority": priority,
                "lb_endpoints": [_lb_endpoint(b) for b in members],
            }
            for (priority, region_name, site), members in sorted(localities.items())
        ],
    }


def _listener(model: GatewayModel) -> dict[str, Any]:
    # Always a catch-all host: a request no route matches gets the 404 (with no host at
    # all, it would meet the key check with no route's config, and get 401).
    hosts: dict[tuple[str, ...], list[Route]] = {("*",): []}
    for route in model.routes:
        for host in route.hostnames or ("*",):
            hosts.setdefault((host,), []).append(route)
    virtual_hosts = [
        {
            "name": host,
            "domains": [host],
            # Longest path first (the Gateway API's precedence), exact before prefix.
            "routes": [
                entry
                for route in sorted(routes, key=lambda r: (-len(r.path), not r.exact, r.key))
                for entry in _route_entries(route)
            ]
            + [_not_found()],
        }
        for (host,), routes in sorted(hosts.items(), key=lambda h: h[0] == ("*",))
    ]
    manager = {
        "@type": TYPE
        + "envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager",
        "stat_prefix": "gateway",
        "strip_any_host_port": True,
        "use_remote_address": True,
        # Not checked against the clusters Envoy has: when it wakes to the new CDS and LDS
        # files at once it may read the listener first, and a listener naming a cluster
        # it does not have yet would be refused, and not read again until the next change.
        "route_config": {
            "name": "routes",
            "virtual_hosts": virtual_hosts,
            "validate_clusters": False,
        },
        "http_filters": [
            {
                "name": API_KEY_FILTER,
                "typed_config": {
                    "@type": TYPE + "envoy.extensions.filters.http.api_key_auth.v3.ApiKeyAuth",
                    "key_sources": [{"header": "authorization"}],
                },
            },
            {
                "name": RATE_LIMIT_FILTER,
                "typed_config": {
                    "@type": TYPE
                    + "envoy.extensions.filters.http.local_ratelimit.v3.LocalRateLimit",
                    "stat_prefix": "rate_limit",
                },
            },
            *_picker_filters(_pickers(model)),
            {
                "name": "envoy.filters.http.router",
                "typed_config": {"@type": TYPE + "envoy.extensions.filters.http.router.v3.Router"},
            },
        ],
    }
    chain: dict[str, Any] = {
        "filters": [
            {
                "name": "envoy.filters.network.http_connection_manager",
                "typed_config": manager,
            }
        ]
    }
    if model.listener.tls is not None:
        chain["transport_socket"] = _tls(model.listener.tls)
    return {
        "@type": TYPE + "envoy.config.listener.v3.Listener",
        "name": "http",
        "address": _socket(model.listener.address, model.listener.port),
        "filter_chains": [chain],
    }


def _tls(certificate: Certificate) -> dict[str, Any]:
    """HTTPS: the listener's certificate, TLS 1.2 at least, HTTP/1.1 and HTTP/2 offered."""
    return {
        "name": "envoy.transport_sockets.tls",
        "typed_config": {
            "@type": TYPE + "envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext",
            "common_tls_context": {
                "tls_params": {"tls_minimum_protocol_version": "TLSv1_2"},
                "alpn_protocols": ["h2", "http/1.1"],
                "tls_certificates": [
                    {
                        "certificate_chain": {"inline_string": certificate.chain},
                        "private_key": {"inline_string": certificate.key},
                    }
                ],
            },
        },
    }


def _picker_filters(pickers: list[Picker]) -> list[dict[str, Any]]:
    """The subset hint and the picker's ext_proc, both off but where a route with a
    picker turns them on (after the key and the limit: no pick for a refused request)."""
    if not pickers:
        return []
    return [
        {
            "name": SET_METADATA_FILTER,
            "typed_config": {
                "@type": TYPE + "envoy.extensions.filters.http.set_metadata.v3.Config"
            },
        },
        {
            "name": EXT_PROC_FILTER,
            "disabled": True,
            "typed_config": {
                "@type": TYPE + "envoy.extensions.filters.http.ext_proc.v3.ExternalProcessor",
                "grpc_service": _picker_service(pickers[0]),
                # When the picker fails, is away or answers with an error, each route
                # says (its pool's failureMode): Envoy picks alone, or the request
                # fails with 503.
                "failure_mode_allow": True,
                "status_on_error": {"code": "ServiceUnavailable"},
                "disable_immediate_response": True,
                "message_timeout": PICKER_TIMEOUT,
                # The picker's headers do not move the request to another route.
                "route_cache_action": "RETAIN",
                # The picker answers once it has the whole request (it may read the body).
                "processing_mode": {
                    "request_header_mode": "SEND",
                    "request_body_mode": "FULL_DUPLEX_STREAMED",
                    "request_trailer_mode": "SEND",
                    "response_header_mode": "SKIP",
                    "response_body_mode": "NONE",
                    "response_trailer_mode": "SKIP",
                },
                "metadata_options": {
                    "forwarding_namespaces": {"untyped": [SUBSET_NAMESPACE]},
                    "receiving_namespaces": {"untyped": [PICK_NAMESPACE]},
                },
                "forward_rules": {
                    "disallowed_headers": {"patterns": [{"exact": PICKER_TEST_HEADER}]}
                },
            },
        },
    ]


def _picker_service(picker: Picker) -> dict[str, Any]:
    return {
        "envoy_grpc": {"cluster_name": picker_cluster_name(picker)},
        "timeout": PICKER_TIMEOUT,
    }


def _picker_per_route(route: Route, region: str | None) -> dict[str, Any]:
    """A route entry's picker: asked with the region's replicas as the only candidates
    (all of the pool's without a region); none when the region has no replica there,
    so Envoy goes straight to the other regions'."""
    if route.picker is None:
        return {}
    candidates = [
        f"{b.ip}:{b.port}" for b in route.backends if region is None or b.region == region
    ]
    if not candidates:
        return {}
    config: dict[str, Any] = {
        EXT_PROC_FILTER: {
            "@type": TYPE + "envoy.config.route.v3.FilterConfig",
            "config": {
                "@type": TYPE + "envoy.extensions.filters.http.ext_proc.v3.ExtProcPerRoute",
                "overrides": {
                    "grpc_service": _picker_service(route.picker),
                    "failure_mode_allow": route.picker.fail_open,
                },
            },
        }
    }
    if region is not None:
        config[SET_METADATA_FILTER] = {
            "@type": TYPE + "envoy.extensions.filters.http.set_metadata.v3.Config",
            "metadata": [
                {
                    "metadata_namespace": SUBSET_NAMESPACE,
                    "value": {SUBSET_KEY: candidates},
                }
            ],
        }
    return config


def _route_entries(route: Route) -> list[dict[str, Any]]:
    match_path = {"path": route.path} if route.exact else {"prefix": route.path}
    if not route.exact and route.path != "/" and not route.path.endswith("/"):
        # A PathPrefix /v1 matches /v1 and /v1/..., not /v1x.
        match_path = {"path_separated_prefix": route.path}
    per_filter = _per_filter(route)
    if route.closed:
        return [
            {
                "name": route.key,
                "match": match_path,
                "direct_response": {"status": 401, "body": {"inline_string": "unauthorized\n"}},
                "typed_per_filter_config": per_filter,
            }
        ]
    entries = []
    for region in route.regions():
        entries.append(
            {
                "name": f"{route.key}/{region}",
                "match": {
                    **match_path,
                    "headers": [
                        {"name": REGION_HEADER, "string_match": {"exact": region}},
                    ],
                },
                "route": _action(cluster_name(route, region)),
                "typed_per_filter_config": {**per_filter, **_picker_per_route(route, region)},
            }
        )
    entries.append(
        {
            "name": route.key,
            "match": match_path,
            "route": _action(cluster_name(route, route.client_region)),
            "typed_per_filter_config": {
                **per_filter,
                **_picker_per_route(route, route.client_region),
            },
        }
    )
    return entries


def _not_found() -> dict[str, Any]:
    """What no route matches: 404, whatever the key (no route's keys apply)."""
    return {
        "name": "not-found",
        "match": {"prefix": "/"},
        "direct_response": {"status": 404, "body": {"inline_string": "no route\n"}},
        "typed_per_filter_config": {API_KEY_FILTER: _disabled()},
    }


def _disabled() -> dict[str, Any]:
    return {"@type": TYPE + "envoy.config.route.v3.FilterConfig", "disabled": True}


def _action(cluster: str) -> dict[str, Any]:
    return {
        "cluster": cluster,
        # Generation can be long; streaming answers are bounded by the idle timeout.
        "timeout": "300s",
        "retry_policy": {
            "retry_on": "connect-failure,refused-stream,reset,unavailable,retriable-status-codes",
            "retriable_status_codes": [503],
            "num_retries": RETRIES,
            "retry_host_predicate": [
                {
                    "name": "envoy.retry_host_predicates.previous_hosts",
                    "typed_config": {
                        "@type": TYPE
                        + "envoy.extensions.retry.host.previous_hosts.v3.PreviousHostsPredicate"
                    },
                }
            ],
            "host_selection_retry_max_attempts": 5,
            "retry_priority": {
                "name": "envoy.retry_priorities.previous_priorities",
                "typed_config": {
                    "@type": TYPE + "envoy.extensions.retry.priority.previous_priorities.v3."
                    "PreviousPrioritiesConfig",
                    "update_frequency": 1,
                },
            },
        },
    }


def _per_filter(route: Route) -> dict[str, Any]:
    config: dict[str, Any] = {}
    if route.keys is None or route.closed:
        config[API_KEY_FILTER] = _disabled()
    else:
        config[API_KEY_FILTER] = {
            "@type": TYPE + "envoy.extensions.filters.http.api_key_auth.v3.ApiKeyAuthPerRoute",
            "credentials": [{"key": k.key, "client": k.client} for k in route.keys],
            "forwarding": {"header": CLIENT_HEADER, "hide_credentials": True},
        }
    if route.limit is not None and not route.closed:
        config[RATE_LIMIT_FILTER] = _rate_limit(route)
    return config


def _rate_limit(route: Route) -> dict[str, Any]:
    assert route.limit is not None
    bucket = {
        "max_tokens": route.limit.burst,
        "tokens_per_fill": route.limit.per_second,
        "fill_interval": "1s",
    }
    config: dict[str, Any] = {
        "@type": TYPE + "envoy.extensions.filters.http.local_ratelimit.v3.LocalRateLimit",
        "stat_prefix": "rate_limit",
        "filter_enabled": {"default_value": {"numerator": 100, "denominator": "HUNDRED"}},
        "filter_enforced": {"default_value": {"numerator": 100, "denominator": "HUNDRED"}},
        "response_headers_to_add": [
            {
                "header": {"key": "retry-after", "value": "1"},
                "append_action": "OVERWRITE_IF_EXISTS_OR_ADD",
            }
        ],
        "token_bucket": bucket,
    }
    if route.keys:
        # One bucket per client; the route's own bucket is then never the limit.
        config["token_bucket"] = {
            "max_tokens": UNLIMITED_TOKENS,
            "tokens_per_fill": UNLIMITED_TOKENS,
            "fill_interval": "1s",
        }
        config["rate_limits"] = [
            {
                "actions": [
                    {"request_headers": {"header_name": CLIENT_HEADER, "descriptor_key": "client"}}
                ]
            }
        ]
        config["descriptors"] = [
            {"entries": [{"key": "client", "value": k.client}], "token_bucket": bucket}
            for k in route.keys
        ]
    return config
