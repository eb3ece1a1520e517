#!/usr/bin/env bash
# Install the Debian packages the tests use, only when missing: prometheus and promtool
# (a real Prometheus for the power-feed and observability tests) and ss (iproute2, to see
# who listens on a port).
set -euo pipefail
missing=()
command -v prometheus >/dev/null || missing+=(prometheus)
command -v promtool >/dev/null || missing+=(prometheus)
command -v ss >/dev/null || missing+=(iproute2)
[ ${#missing[@]} -eq 0 ] && exit 0
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
mapfile -t missing < <(printf '%s\n' "${missing[@]}" | sort -u)
echo "[system-deps] installing Debian packages: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
# No init system runs here, so the package does not start a system-wide Prometheus.
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
