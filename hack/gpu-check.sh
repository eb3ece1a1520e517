#!/usr/bin/env bash
# make gpu-check: the node agent's NVML path on this machine's NVIDIA GPUs (docs/gpu-check.md).
# Needs no network. Python comes from, in this order:
#   1. a carried virtualenv ($VENV, default .venv) that imports the packages, or
#   2. the wheels of `make gpu-check-bundle` ($GPU_BUNDLE, default .gpu-bundle), installed
#      with --no-index into a temporary virtualenv of $GPU_CHECK_PYTHON (default python3).
# The repository's own tree is what runs (PYTHONPATH), whichever packages are used.
# Exit: 0 passed, 1 a check failed, 3 no NVIDIA driver/GPU (NVML not initialised),
#       4 no Python to run with. The report: $CANGO_GPU_CHECK_OUT (default .out/gpu-check).
set -uo pipefail
cd "$(dirname "$0")/.."
VENV=${VENV:-.venv}
BUNDLE=${GPU_BUNDLE:-.gpu-bundle}
SYSTEM_PYTHON=${GPU_CHECK_PYTHON:-python3}
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
IMPORTS='import pynvml, pytest, pytest_asyncio, pydantic, yaml, kubernetes, kopf'

no_python() {
  echo "gpu-check: no Python to run with: $*" >&2
  echo "gpu-check: carry a virtualenv made on a machine like this one ($VENV), or" \
    "the wheels of 'make gpu-check-bundle' ($BUNDLE); see docs/gpu-check.md" >&2
  exit 4
}

label=$(git describe --always --dirty 2>/dev/null || echo "not a git checkout")
tmp=""
trap '[[ -n $tmp ]] && rm -rf "$tmp"' EXIT
if "$VENV/bin/python" -c "$IMPORTS" 2>/dev/null; then
  python="$VENV/bin/python"
  echo "gpu-check: Python from the virtualenv $VENV"
elif [[ -d $BUNDLE ]]; then
  wanted=$(cat "$BUNDLE/PYTHONS" 2>/dev/null)
  have=$("$SYSTEM_PYTHON" -c 'import sys; print("%d.%d" % sys.version_info[:2])' 2>/dev/null) ||
    no_python "$SYSTEM_PYTHON does not run (GPU_CHECK_PYTHON=... names another)"
  [[ " $wanted " == *" $have "* ]] ||
    no_python "$BUNDLE holds wheels for Python $wanted, $SYSTEM_PYTHON is $have" \
      "(GPU_CHECK_PYTHON=python$wanted, or make gpu-check-bundle GPU_PYTHONS=$have)"
  tmp=$(mktemp -d)
  "$SYSTEM_PYTHON" -m venv --without-pip "$tmp/venv" ||
    no_python "$SYSTEM_PYTHON -m venv failed (Debian: apt-get install python3-venv)"
  pip_wheel=$(ls "$BUNDLE"/pip-*.whl 2>/dev/null | head -n 1)
  [[ -n $pip_wheel ]] || no_python "$BUNDLE has no pip wheel"
  echo "gpu-check: installing $BUNDLE into a temporary virtualenv (no network)"
  "$tmp/venv/bin/python" "$pip_wheel/pip" install --quiet --no-index --find-links "$BUNDLE" \
    --disable-pip-version-check cango-operator pytest pytest-asyncio ||
    no_python "installing from $BUNDLE failed (made for another machine?)"
  python="$tmp/venv/bin/python"
else
  no_python "$VENV does not import the packages and there is no $BUNDLE"
fi
"$python" -m cango_operator.agent.gpucheck --label "$label" "$@"
