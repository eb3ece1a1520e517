#!/usr/bin/env bash
# make gpu-check-bundle: the wheels `make gpu-check` installs from where there is no network.
# Run on a machine with PyPI and the project's .venv; carry the result ($GPU_BUNDLE, default
# .gpu-bundle, about 50 MB) to the GPU machine with the repository.
# The versions are those of .venv; the wheels are for this Python and this machine (x86_64
# Linux with glibc 2.34 or later here). GPU_PYTHONS="3.12 3.13" adds the compiled wheels
# for those Pythons too (GPU_PLATFORM, default manylinux_2_28_x86_64, names the machine).
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${VENV:-.venv}
BUNDLE=${GPU_BUNDLE:-.gpu-bundle}
PLATFORM=${GPU_PLATFORM:-manylinux_2_28_x86_64}
pip=("$VENV/bin/python" -m pip --disable-pip-version-check)

rm -rf "$BUNDLE"
mkdir -p "$BUNDLE"
pins=$(mktemp)
trap 'rm -f "$pins"' EXIT
"${pip[@]}" freeze --exclude-editable >"$pins"
# The package and its runtime dependencies, the test runner, and pip itself (the GPU
# machine's python3 may have none); pure-Python sources are built into wheels here.
"${pip[@]}" wheel --quiet --wheel-dir "$BUNDLE" --constraint "$pins" . pytest pytest-asyncio pip
python_version=$("$VENV/bin/python" -c 'import sys; print("%d.%d" % sys.version_info[:2])')
for version in ${GPU_PYTHONS:-}; do
  ls "$BUNDLE" | grep -v -- '-none-any\.whl$' | sed -E 's/^([^-]+)-([^-]+)-.*/\1==\2/' >"$pins"
  "${pip[@]}" download --quiet --only-binary=:all: --no-deps --implementation cp \
    --python-version "$version" --platform "$PLATFORM" --dest "$BUNDLE" --requirement "$pins"
done
echo "$python_version ${GPU_PYTHONS:-}" | xargs >"$BUNDLE/PYTHONS"
echo "$BUNDLE: $(ls "$BUNDLE"/*.whl | wc -l) wheels, $(du -sh "$BUNDLE" | cut -f1)," \
  "for Python $(cat "$BUNDLE/PYTHONS")"
