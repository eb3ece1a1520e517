# Shared by hack/*/build.sh: strict mode, the script's directory and versions, the cache
# every build shares, a log with the build's name, and Go's presence checked.
#
#   source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
#   prelude NAME "what Go is needed for"
#
# sets: here (the calling script's directory, its versions.env sourced), cache, log();
# defines build_go_tool (below).
set -euo pipefail

prelude() {
  local name=$1 need=$2
  here=$(cd "$(dirname "${BASH_SOURCE[1]}")" && pwd)
  # shellcheck source=/dev/null
  source "$here/versions.env"
  cache=${CANGO_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/cango-operator}
  eval "log() { printf '[$name] %s\n' \"\$*\" >&2; }"
  command -v go >/dev/null || { log "go is not installed; Go >= 1.26 is needed $need"; exit 1; }
  export GOFLAGS=-buildvcs=false
}

# Fails unless this module's go.mod requires MODULE at VERSION (the tool TOOL_PACKAGE is
# built from it), and says how to move go.mod to it.
require_pinned() { # module version tool-package
  local module=$1 version=$2 tool=$3 required
  required=$(cd "$here" && go list -m -f '{{.Version}}' "$module")
  [ "$required" = "$version" ] || {
    log "go.mod requires $module $required but versions.env pins $version"
    log "run: (cd hack/$(basename "$here") && go get -tool $tool@$version && go mod tidy)"
    exit 1
  }
}

# The cache key of this module's build: its go.mod, go.sum and versions.env.
module_key() {
  cat "$here/go.mod" "$here/go.sum" "$here/versions.env" | sha256sum | cut -c1-12
}

# Builds PACKAGE (of this module) into DIR/BINARY unless it is there: in DIR.tmp first,
# then moved, so a build cut short leaves nothing half-done. Further arguments go to
# `go build` (e.g. -ldflags).
build_go_tool() { # dir binary package label what-is-built [go build args...]
  local dir=$1 binary=$2 package=$3 label=$4 what=$5 start
  shift 5
  [ -x "$dir/$binary" ] && return 0
  log "building $what"
  start=$(date +%s)
  rm -rf "$dir.tmp" && mkdir -p "$dir.tmp"
  (cd "$here" && go build -trimpath "$@" -o "$dir.tmp/$binary" "$package")
  chmod -R u+w "$dir.tmp"
  mkdir -p "$dir" && mv "$dir.tmp/$binary" "$dir/$binary" && rm -rf "$dir.tmp"
  log "$label built in $(( $(date +%s) - start )) s"
}
