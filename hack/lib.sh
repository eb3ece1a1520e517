# Shared by hack/*/build.sh: strict mode, the script's directory and versions, the cache
# every build shares, a log with the build's name, and Go's presence checked.
#
#   source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
#   prelude NAME "what Go is needed for"
#
# sets: here (the calling script's directory, its versions.env sourced), cache, log().
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
