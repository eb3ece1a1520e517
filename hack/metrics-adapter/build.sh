#!/usr/bin/env bash
# Build the Prometheus adapter (serves Prometheus queries as the external.metrics.k8s.io
# API, which the HorizontalPodAutoscaler reads) from its Go module, once, into a cache
# outside the repo (beside the control plane's).
#
#   hack/metrics-adapter/build.sh        build what is missing, print the directory
#
# Output: one directory holding `adapter` (sigs.k8s.io/prometheus-adapter/cmd/adapter,
# built unchanged through go.mod's tool directive), keyed by the version in versions.env
# and by the content of this module. The last line printed is the directory.
# shellcheck source=../lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
prelude metrics-adapter "to build the Prometheus adapter"
export CGO_ENABLED=0
module=sigs.k8s.io/prometheus-adapter

require_pinned "$module" "$PROMETHEUS_ADAPTER_VERSION" "$module/cmd/adapter"
key=$(module_key)
dir="$cache/metrics-adapter-$PROMETHEUS_ADAPTER_VERSION-$key"
build_go_tool "$dir" adapter "$module/cmd/adapter" "the Prometheus adapter" \
  "$module $PROMETHEUS_ADAPTER_VERSION (cold build: about 2.5 min on 2 cores)" -ldflags "-s -w"
echo "$dir"
