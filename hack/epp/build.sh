#!/usr/bin/env bash
# Build the Gateway API Inference Extension's endpoint picker (EPP: an Envoy ext_proc
# server that picks the model server pod of an InferencePool for each request) from its Go
# module, once, into a cache outside the repo (beside the control plane's).
#
#   hack/epp/build.sh        build what is missing, print the directory
#
# Output: one directory holding `epp`, built unchanged through go.mod's tool directive from
# sigs.k8s.io/gateway-api-inference-extension/cmd/lwepp: at this version the module's only
# endpoint picker is the lightweight one (the full, metrics-scoring EPP moved to
# llm-d/llm-d-router). Keyed by the version in versions.env and by the content of this
# module. The last line printed is the directory.
# shellcheck source=../lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
prelude epp "to build the endpoint picker"
export CGO_ENABLED=0
module=sigs.k8s.io/gateway-api-inference-extension

require_pinned "$module" "$GIE_VERSION" "$module/cmd/lwepp"
key=$(module_key)
dir="$cache/epp-$GIE_VERSION-$key"
build_go_tool "$dir" epp "$module/cmd/lwepp" "the endpoint picker" \
  "$module/cmd/lwepp $GIE_VERSION (cold build: about 2 min on 2 cores)" -ldflags "-s -w"
echo "$dir"
