#!/usr/bin/env bash
# Build the local control plane from Go modules, once, into a cache outside the repo.
#
#   hack/controlplane/build.sh        build what is missing, print the bin directory
#
# Output: one directory of executables (etcd, kube-apiserver, kube-controller-manager,
# kube-scheduler, kubectl as links to one multi-call binary; kwok, kwokctl, helm), keyed
# by the versions in versions.env and by the content of this module, so a fresh clone
# on the same machine reuses it. The last line printed is the directory.
# shellcheck source=../lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
prelude controlplane "to build the control plane"
export CGO_ENABLED=0
minor=${KUBERNETES_VERSION#v1.}; minor=${minor%%.*}

# The multi-call binary: keyed by the Kubernetes version and this module's content.
key=$(cat "$here/go.mod" "$here/go.sum" "$here/main.go" | sha256sum | cut -c1-12)
cp_dir="$cache/controlplane-$KUBERNETES_VERSION-$key"
if [ ! -x "$cp_dir/controlplane" ]; then
  log "building etcd, kube-apiserver, kube-controller-manager, kube-scheduler, kubectl $KUBERNETES_VERSION (cold build: ~20 min on 2 cores)"
  start=$(date +%s)
  mkdir -p "$cp_dir.tmp"
  ldflags="-s -w"
  for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    ldflags+=" -X $pkg.gitVersion=$KUBERNETES_VERSION -X $pkg.gitMajor=1 -X $pkg.gitMinor=$minor -X $pkg.gitTreeState=clean"
  done
  (cd "$here" && go build -tags selinux,notest -trimpath -ldflags "$ldflags" -o "$cp_dir.tmp/controlplane" .)
  for c in etcd kube-apiserver kube-controller-manager kube-scheduler kubectl; do ln -sf controlplane "$cp_dir.tmp/$c"; done
  rm -rf "$cp_dir" && mv "$cp_dir.tmp" "$cp_dir"
  log "control plane built in $(( $(date +%s) - start )) s"
fi

# kwok, kwokctl and helm carry no replace directives: plain go install of a pinned version.
install_tool() { # name dir ldflags packages...
  local name=$1 dir=$2 ldflags=$3; shift 3
  [ -x "$dir/$name" ] && return 0
  log "building $* (go install)"
  local start; start=$(date +%s)
  mkdir -p "$dir.tmp"
  GOBIN="$dir.tmp" go install -trimpath -ldflags "-s -w $ldflags" "$@"
  rm -rf "$dir" && mv "$dir.tmp" "$dir"
  log "$name built in $(( $(date +%s) - start )) s"
}
kwok_dir="$cache/kwok-$KWOK_VERSION"
install_tool kwokctl "$kwok_dir" "" "sigs.k8s.io/kwok/cmd/kwok@$KWOK_VERSION" "sigs.k8s.io/kwok/cmd/kwokctl@$KWOK_VERSION"
# helm's release builds stamp the Kubernetes version that `helm template` and `helm lint`
# assume; without it they assume v1.20. Stamp the version of our control plane.
helm_dir="$cache/helm-$HELM_VERSION-k8s1.$minor"
helm_ldflags="-X helm.sh/helm/v3/internal/version.version=$HELM_VERSION"
for pkg in helm.sh/helm/v3/pkg/chartutil helm.sh/helm/v3/pkg/lint/rules; do
  helm_ldflags+=" -X $pkg.k8sVersionMajor=1 -X $pkg.k8sVersionMinor=$minor"
done
install_tool helm "$helm_dir" "$helm_ldflags" "helm.sh/helm/v3/cmd/helm@$HELM_VERSION"

# One bin directory of links, so PATH needs one entry.
bin="$cache/bin-$KUBERNETES_VERSION-$key-$KWOK_VERSION-$HELM_VERSION-k8s1.$minor"
if [ ! -d "$bin" ]; then
  mkdir -p "$bin.tmp"
  for c in controlplane etcd kube-apiserver kube-controller-manager kube-scheduler kubectl; do ln -sf "$cp_dir/$c" "$bin.tmp/$c"; done
  ln -sf "$kwok_dir/kwok" "$bin.tmp/kwok"; ln -sf "$kwok_dir/kwokctl" "$bin.tmp/kwokctl"
  ln -sf "$helm_dir/helm" "$bin.tmp/helm"
  rm -rf "$bin" && mv "$bin.tmp" "$bin"
fi
echo "$bin"
