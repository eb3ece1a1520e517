#!/usr/bin/env bash
# The CustomResourceDefinitions of the Gateway API (standard channel) and of its
# Inference Extension, copied once from their Go modules into a cache outside the repo
# (beside the control plane's, OCM's and Kueue's). Nothing is built: only the YAML.
#
#   hack/gateway/build.sh        copy what is missing, print the directory
#
# Output: one directory holding `crds/`: GatewayClass, Gateway, HTTPRoute and
# ReferenceGrant from sigs.k8s.io/gateway-api (config/crd/standard) and InferencePool
# from sigs.k8s.io/gateway-api-inference-extension (config/crd/bases), and KEDA's
# ScaledObject from github.com/kedacore/keda/v2 (config/crd/bases), as they are. The
# directory is keyed by the versions in versions.env and by the content of this module.
# The last line printed is the directory.
# shellcheck source=../lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
prelude gateway "to read the modules"
gateway=sigs.k8s.io/gateway-api
gie=sigs.k8s.io/gateway-api-inference-extension
keda=github.com/kedacore/keda/v2

for pin in "$gateway $GATEWAY_API_VERSION" "$gie $GIE_VERSION" "$keda $KEDA_VERSION"; do
  read -r module version <<<"$pin"
  required=$(cd "$here" && go list -m -f '{{.Version}}' "$module")
  [ "$required" = "$version" ] || {
    log "go.mod requires $module $required but versions.env pins $version"
    log "run: (cd hack/gateway && go mod edit -require=$module@$version && go mod download $module)"
    exit 1
  }
done

key=$(cat "$here/go.mod" "$here/go.sum" "$here/versions.env" | sha256sum | cut -c1-12)
dir="$cache/gateway-$GATEWAY_API_VERSION-$GIE_VERSION-$key"
# module: path inside it
crds=(
  "$gateway:config/crd/standard/gateway.networking.k8s.io_gatewayclasses.yaml"
  "$gateway:config/crd/standard/gateway.networking.k8s.io_gateways.yaml"
  "$gateway:config/crd/standard/gateway.networking.k8s.io_httproutes.yaml"
  "$gateway:config/crd/standard/gateway.networking.k8s.io_referencegrants.yaml"
  "$gie:config/crd/bases/inference.networking.k8s.io_inferencepools.yaml"
  "$keda:config/crd/bases/keda.sh_scaledobjects.yaml"
)
missing=0
for c in "${crds[@]}"; do [ -f "$dir/crds/$(basename "${c#*:}")" ] || missing=1; done
if [ "$missing" = 1 ]; then
  (cd "$here" && go mod download "$gateway" "$gie" "$keda")
  rm -rf "$dir/crds.tmp" && mkdir -p "$dir/crds.tmp"
  for c in "${crds[@]}"; do
    module=${c%%:*} path=${c#*:}
    src=$(cd "$here" && go list -m -f '{{.Dir}}' "$module")
    [ -n "$src" ] || { log "$module is not in the module cache"; exit 1; }
    [ -f "$src/$path" ] || { log "missing in $module: $path"; exit 1; }
    cp "$src/$path" "$dir/crds.tmp/"
  done
  chmod -R u+w "$dir/crds.tmp"
  rm -rf "$dir/crds" && mv "$dir/crds.tmp" "$dir/crds"
  log "CRDs of $gateway $GATEWAY_API_VERSION, $gie $GIE_VERSION and $keda $KEDA_VERSION in $dir/crds"
fi
echo "$dir"
