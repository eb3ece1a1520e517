#!/usr/bin/env bash
# Build the Open Cluster Management parts of the local federation from Go modules, once,
# into a cache outside the repo (beside the control plane's).
#
#   hack/ocm/build.sh        build what is missing, print the directory
#
# Output: one directory holding `ocm` (a multi-call binary: registration-controller,
# work-controller, placement-controller, klusterlet-agent) and `crds/`, the hub's and the
# site's CustomResourceDefinitions copied from open-cluster-management.io/api. The binary
# is keyed by the versions in versions.env and by the content of this module, so a fresh
# clone on the same machine reuses it. The last line printed is the directory.
# shellcheck source=../lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
prelude ocm "to build OCM"
export CGO_ENABLED=0

key=$(cat "$here/go.mod" "$here/go.sum" "$here/main.go" "$here/versions.env" | sha256sum | cut -c1-12)
dir="$cache/ocm-$OCM_VERSION-$key"
build_go_tool "$dir" ocm . ocm \
  "open-cluster-management.io/ocm $OCM_VERSION (cold build: ~5 min on 2 cores, 1.7 GB of memory)" \
  -ldflags "-s -w"
# The CRDs are copied apart from the build (cheap), so a CRD added to this list reaches
# a cached build too.
# Hub: clusters, their leases' acceptance, the works and their replica sets, placement
# (the baseline's). Site: the applied works and the cluster's claims, which the agent reads.
crds=(
  cluster/v1/0000_00_clusters.open-cluster-management.io_managedclusters.crd.yaml
  cluster/v1beta2/0000_00_clusters.open-cluster-management.io_managedclustersets.crd.yaml
  cluster/v1beta2/0000_01_clusters.open-cluster-management.io_managedclustersetbindings.crd.yaml
  cluster/v1beta1/0000_02_clusters.open-cluster-management.io_placements.crd.yaml
  cluster/v1beta1/0000_03_clusters.open-cluster-management.io_placementdecisions.crd.yaml
  cluster/v1alpha1/0000_05_clusters.open-cluster-management.io_addonplacementscores.crd.yaml
  cluster/v1alpha1/0000_02_clusters.open-cluster-management.io_clusterclaims.crd.yaml
  work/v1/0000_00_work.open-cluster-management.io_manifestworks.crd.yaml
  work/v1/0000_01_work.open-cluster-management.io_appliedmanifestworks.crd.yaml
  work/v1alpha1/0000_00_work.open-cluster-management.io_manifestworkreplicasets.crd.yaml
  addon/v1alpha1/0000_00_addon.open-cluster-management.io_clustermanagementaddons.crd.yaml
  addon/v1alpha1/0000_01_addon.open-cluster-management.io_managedclusteraddons.crd.yaml
)
missing=0
for f in "${crds[@]}"; do [ -f "$dir/crds/$(basename "$f")" ] || missing=1; done
if [ "$missing" = 1 ]; then
  api=$(cd "$here" && go list -m -f '{{.Dir}}' "open-cluster-management.io/api")
  [ -n "$api" ] || { log "open-cluster-management.io/api is not in the module cache"; exit 1; }
  rm -rf "$dir/crds.tmp" && mkdir -p "$dir/crds.tmp"
  for f in "${crds[@]}"; do
    [ -f "$api/$f" ] || { log "missing in open-cluster-management.io/api: $f"; exit 1; }
    cp "$api/$f" "$dir/crds.tmp/"
  done
  chmod -R u+w "$dir/crds.tmp"
  rm -rf "$dir/crds" && mv "$dir/crds.tmp" "$dir/crds"
fi
echo "$dir"
