#!/usr/bin/env bash
# Install the Debian packages the tests use, only when missing: prometheus and promtool
# (a real Prometheus for the power-feed and observability tests).
set -euo pipefail
missing=()
command -v prometheus >/dev/null || missing+=(prometheus)
command -v promtool >/dev/null || missing+=(prometheus)
[ ${#missing[@]} -eq 0 ] && exit 0
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
echo "[system-deps] installing: prometheus (Debian package, for prometheus and promtool)"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
# policy-rc.d keeps the package from starting a system-wide Prometheus service.
$sudo apt-get install -y -qq --no-install-recommends prometheus >/dev/null
