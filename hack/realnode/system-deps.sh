#!/usr/bin/env bash
# Install the Debian packages the real-node tier and `make image` use, only when missing:
# podman, runc, skopeo and mmdebstrap (the image built with no Docker engine and no
# registry), containerd and the CNI plugins (the real node's runtime and its pod bridge),
# iptables (the bridge plugin's masquerade rules are off, but it checks for it), gcc
# (the pause image, built static from pause.c) and iproute2 (the routes and the preflight).
set -euo pipefail
need=(
  podman:podman runc:runc skopeo:skopeo mmdebstrap:mmdebstrap containerd:containerd
  ctr:containerd /usr/lib/cni/bridge:containernetworking-plugins iptables:iptables
  gcc:gcc ip:iproute2 conmon:conmon
)
missing=()
for pair in "${need[@]}"; do
  cmd=${pair%%:*} pkg=${pair#*:}
  if [[ $cmd == /* ]]; then [ -e "$cmd" ] || missing+=("$pkg")
  else command -v "$cmd" >/dev/null || missing+=("$pkg"); fi
done
# glibc's static archive, for the pause binary.
[ -e /usr/lib/x86_64-linux-gnu/libc.a ] || [ -e /usr/lib/aarch64-linux-gnu/libc.a ] || missing+=(libc6-dev)
[ ${#missing[@]} -eq 0 ] && exit 0
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
mapfile -t missing < <(printf '%s\n' "${missing[@]}" | sort -u)
echo "[real-node-deps] installing Debian packages: ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
# No init system runs here, so containerd's package starts no system-wide daemon; the
# test bed runs its own containerd with its own root, state and socket.
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
