# shellcheck shell=bash
# Shared settings for the project's scripts. Source it, do not run it:
#   . "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
#
# Defines ROOT (repository root), TOOLS (.tools), VENV (.tools/venv),
# STATE (.local-cloud), puts $VENV/bin first on PATH, and offers
# ensure_tools, which installs or checks the pinned tools (scripts/tools;
# instant once installed).

# shellcheck disable=SC2034  # used by the scripts that source this file
ROOT="$(CDPATH='' cd -- "$(dirname -- "${BASH_SOURCE[0]}")/.." && pwd)"
TOOLS="$ROOT/.tools"
VENV="$TOOLS/venv"
STATE="$ROOT/.local-cloud"

case ":$PATH:" in
  *":$VENV/bin:"*) ;;
  *) PATH="$VENV/bin:$PATH" ;;
esac
export PATH

# ensure_tools [--force]
# shellcheck disable=SC2120
ensure_tools() {
  "$ROOT/scripts/tools" "$@"
}

# Short progress line on stderr.
say() {
  printf '%s: %s\n' "${SAY_PREFIX:-$(basename "$0")}" "$*" >&2
}

die() {
  say "error: $*"
  exit 1
}
