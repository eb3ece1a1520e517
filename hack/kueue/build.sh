#!/usr/bin/env bash
# Build Kueue's manager (the quota and fair-sharing admission controller) from its Go
# module, once, into a cache outside the repo (beside the control plane's and OCM's).
#
#   hack/kueue/build.sh        build what is missing, print the directory
#
# Output: one directory holding `kueue` (the manager of sigs.k8s.io/kueue/cmd/kueue,
# built unchanged through go.mod's tool directive) and `crds/`, Kueue's
# CustomResourceDefinitions copied from the module as they are (the test bed adds what
# Kueue's kustomization patches in when it installs them). The binary is keyed by the
# version in versions.env and by the content of this module, so a fresh clone on the
# same machine reuses it. The last line printed is the directory.
# shellcheck source=../lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
prelude kueue "to build Kueue"
export CGO_ENABLED=0
module=sigs.k8s.io/kueue

require_pinned "$module" "$KUEUE_VERSION" "$module/cmd/kueue"
key=$(module_key)
dir="$cache/kueue-$KUEUE_VERSION-$key"
build_go_tool "$dir" kueue "$module/cmd/kueue" kueue \
  "$module $KUEUE_VERSION (cold build: 6-9 min on 2 cores)" \
  -ldflags "-s -w -X $module/pkg/version.GitVersion=$KUEUE_VERSION"
# The CRDs are copied apart from the build (cheap), so a CRD added to this list reaches
# a cached build too. The queues, their flavors and cohorts, the workloads and their
# priority classes; admission checks, because the ClusterQueue controller watches them.
crds=(
  resourceflavors clusterqueues localqueues cohorts workloads workloadpriorityclasses
  admissionchecks topologies provisioningrequestconfigs multikueueconfigs multikueueclusters
)
missing=0
for c in "${crds[@]}"; do [ -f "$dir/crds/kueue.x-k8s.io_$c.yaml" ] || missing=1; done
if [ "$missing" = 1 ]; then
  src=$(cd "$here" && go list -m -f '{{.Dir}}' "$module")
  [ -n "$src" ] || { log "$module is not in the module cache"; exit 1; }
  rm -rf "$dir/crds.tmp" && mkdir -p "$dir/crds.tmp"
  for c in "${crds[@]}"; do
    f="$src/config/components/crd/bases/kueue.x-k8s.io_$c.yaml"
    [ -f "$f" ] || { log "missing in $module: ${f#"$src"/}"; exit 1; }
    cp "$f" "$dir/crds.tmp/"
  done
  chmod -R u+w "$dir/crds.tmp"
  rm -rf "$dir/crds" && mv "$dir/crds.tmp" "$dir/crds"
fi
echo "$dir"
