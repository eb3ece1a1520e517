#!/usr/bin/env bash
# Build the operator's image and the test model server's image with no Docker engine
# and no registry, load-ready for a containerd node (docs/real-node.md).
#
#   hack/image/build.sh        build what is missing, print the directory
#
# 1. base: `mmdebstrap --variant=minbase` of Debian (versions.env) piped into
#    `podman import`, keyed by versions.env;
# 2. wheels: `pip wheel` of the repository on the host (same Python minor), into
#    .wheels/ of the build context;
# 3. the repository's Dockerfile built by `podman build --pull=never --network=none`
#    with PYTHON_IMAGE=the base and WHEELS=.wheels; tests/realnode/modelserver/ likewise;
# 4. both saved as docker archives (what `ctr images import` reads).
#
# Output: one directory holding cango-operator.tar, model-server.tar and images.env (the
# images' names). Keyed by the content of everything the images are built from, so an
# unchanged tree reuses it. The last line printed is the directory.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
# shellcheck source=/dev/null
source "$here/versions.env"
cache=${CANGO_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/cango-operator}
log() { printf '[image] %s\n' "$*" >&2; }
python=${PYTHON:-$repo/.venv/bin/python}
[ -x "$python" ] || { log "no Python at $python (run \`make venv\` or set PYTHON)"; exit 1; }
for tool in podman mmdebstrap runc; do
  command -v "$tool" >/dev/null || { log "$tool is missing: run hack/realnode/system-deps.sh"; exit 1; }
done
# crun fails on this kind of host (cgroups v1 hybrid); runc works. Limits no higher than
# the defaults: no CAP_SYS_RESOURCE here to raise them.
# One build at a time on this machine (they share .wheels/ and podman's tags).
mkdir -p "$cache"
exec 9>"$cache/image-build.lock"
flock 9
build_flags=(--pull=never --network=none --runtime runc --layers=false
  --ulimit nofile=1024:1024 --ulimit nproc=1024:1024)

base_key=$(sha256sum < "$here/versions.env" | cut -c1-12)
base=localhost/cango-base:$base_key
if ! podman image exists "$base"; then
  log "building the base image $base (Debian $DEBIAN_SUITE minbase + $BASE_PACKAGES)"
  start=$(date +%s)
  mmdebstrap --quiet --variant=minbase --include="$BASE_PACKAGES" \
    "$DEBIAN_SUITE" - "$DEBIAN_MIRROR" | podman import --quiet - "$base" >/dev/null
  log "base built in $(( $(date +%s) - start )) s"
fi

sources() {
  (cd "$repo" && git ls-files -co --exclude-standard -- Dockerfile .dockerignore pyproject.toml \
    README.md cango_operator tests/realnode/modelserver | sort | xargs -d '\n' sha256sum)
}
key=$( { echo "$base"; "$python" -c 'import sys; print(sys.version_info[:2])'; sources; } \
  | sha256sum | cut -c1-12)
dir="$cache/images-$key"
if [ ! -f "$dir/images.env" ]; then
  start=$(date +%s)
  operator=localhost/cango-operator:$key
  model=localhost/cango-model-server:$key
  log "pip wheel of the repository into .wheels/"
  rm -rf "$repo/.wheels"
  "$python" -m pip wheel --quiet --disable-pip-version-check --wheel-dir "$repo/.wheels" \
    "$repo[gateway]" >&2
  log "podman build $operator"
  podman build --quiet "${build_flags[@]}" --build-arg "PYTHON_IMAGE=$base" \
    --build-arg WHEELS=.wheels -t "$operator" -f "$repo/Dockerfile" "$repo" >/dev/null
  log "podman build $model"
  podman build --quiet "${build_flags[@]}" --build-arg "PYTHON_IMAGE=$base" \
    -t "$model" "$repo/tests/realnode/modelserver" >/dev/null
  rm -rf "$dir.tmp" && mkdir -p "$dir.tmp"
  podman save --quiet --format docker-archive -o "$dir.tmp/cango-operator.tar" "$operator"
  podman save --quiet --format docker-archive -o "$dir.tmp/model-server.tar" "$model"
  printf 'OPERATOR_IMAGE=%s\nMODEL_SERVER_IMAGE=%s\n' "$operator" "$model" > "$dir.tmp/images.env"
  rm -rf "$dir" && mv "$dir.tmp" "$dir" && rm -rf "$repo/.wheels"
  log "images built in $(( $(date +%s) - start )) s"
  # Earlier builds' archives (some 700 MB each) once no test session can still be
  # loading them (two hours), and their podman images: only this build is used.
  find "$cache" -maxdepth 1 -name 'images-*' ! -path "$dir" -mmin +120 -exec rm -rf {} +
  podman images --format '{{.Repository}}:{{.Tag}}' \
    | grep -E '^localhost/cango-(operator|model-server):' | grep -v ":$key\$" \
    | xargs -r podman rmi --force >/dev/null 2>&1 || true
fi
# podman (cgroupfs) leaves its parent cgroups behind; remove them when nothing runs there.
for parent in /sys/fs/cgroup/*/libpod_parent; do
  [ -d "$parent" ] && find "$parent" -depth -type d -exec rmdir {} + 2>/dev/null || true
done
echo "$dir"
