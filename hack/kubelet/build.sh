#!/usr/bin/env bash
# Build the real node's binaries, once, into a cache outside the repo (beside the control
# plane's): the kubelet from the k8s.io/kubernetes module the control plane is built
# from, and the pause container's binary from pause.c in that module (gcc -static),
# with the sandbox image made of it (a docker archive `ctr images import` reads).
#
#   hack/kubelet/build.sh        build what is missing, print the directory
#
# Output: one directory holding `kubelet`, `pause` and `pause.tar` (image
# localhost/cango-pause:<key>, named in pause.env). Keyed by the version in
# versions.env and the content of this module. The last line printed is the directory.
# shellcheck source=../lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
prelude kubelet "to build the kubelet"
export CGO_ENABLED=0
module=k8s.io/kubernetes
minor=${KUBERNETES_VERSION#v1.}; minor=${minor%%.*}

required=$(cd "$here" && go list -m -f '{{.Version}}' "$module")
# shellcheck source=/dev/null
controlplane=$(source "$here/../controlplane/versions.env" && echo "$KUBERNETES_VERSION")
for v in "$required" "$controlplane"; do
  [ "$v" = "$KUBERNETES_VERSION" ] || {
    log "go.mod requires $module $required, hack/controlplane/versions.env pins $controlplane,"
    log "hack/kubelet/versions.env pins $KUBERNETES_VERSION: they must agree"
    exit 1
  }
done

mkdir -p "$cache"
exec 9>"$cache/kubelet-build.lock"
flock 9
key=$(cat "$here/go.mod" "$here/go.sum" "$here/versions.env" "$here/build.sh" | sha256sum | cut -c1-12)
dir="$cache/kubelet-$KUBERNETES_VERSION-$key"
if [ ! -x "$dir/kubelet" ] || [ ! -f "$dir/pause.tar" ]; then
  rm -rf "$dir.tmp" && mkdir -p "$dir.tmp"
  log "building the kubelet $KUBERNETES_VERSION (the control plane's Go cache: ~1 min; cold: ~10 min on 2 cores)"
  start=$(date +%s)
  ldflags="-s -w"
  for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    ldflags+=" -X $pkg.gitVersion=$KUBERNETES_VERSION -X $pkg.gitMajor=1 -X $pkg.gitMinor=$minor -X $pkg.gitTreeState=clean"
  done
  # The control plane's tags and flags, so its build cache serves the shared packages.
  (cd "$here" && go build -tags selinux,notest -trimpath -ldflags "$ldflags" \
    -o "$dir.tmp/kubelet" "$module/cmd/kubelet")
  log "kubelet built in $(( $(date +%s) - start )) s"

  src=$(cd "$here" && go list -m -f '{{.Dir}}' "$module")
  command -v gcc >/dev/null || { log "gcc is missing: run hack/realnode/system-deps.sh"; exit 1; }
  gcc -Os -static -Wall -Werror -DVERSION="\"$KUBERNETES_VERSION-cango\"" \
    -o "$dir.tmp/pause" "$src/build/pause/linux/pause.c"
  strip "$dir.tmp/pause"
  # The sandbox image: the one static binary in one layer (podman import: no registry).
  pause_image="localhost/cango-pause:$key"
  tar -C "$dir.tmp" --owner=0 --group=0 -cf - pause \
    | podman import --quiet --change 'ENTRYPOINT ["/pause"]' --change 'USER 65535:65535' \
      - "$pause_image" >/dev/null
  podman save --quiet --format docker-archive -o "$dir.tmp/pause.tar" "$pause_image"
  printf 'PAUSE_IMAGE=%s\n' "$pause_image" > "$dir.tmp/pause.env"
  chmod -R u+w "$dir.tmp"
  rm -rf "$dir" && mv "$dir.tmp" "$dir"
fi
echo "$dir"
