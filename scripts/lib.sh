# shellcheck shell=bash
# Shared settings for the project's scripts. Source it, do not run it:
#   . "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
#
# Defines ROOT (repository root), TOOLS (.tools), VENV (.tools/venv),
# STATE (.local-cloud), puts $VENV/bin first on PATH, and offers
# ensure_tools, which installs or checks the pinned tools (scripts/tools;
# instant once installed), usage, say and die.

# shellcheck disable=SC2034  # used by the scripts that source this file
ROOT="$(CDPATH='' cd -- "$(dirname -- "${BASH_SOURCE[0]}")/.." && pwd)"
TOOLS="$ROOT/.tools"
VENV="$TOOLS/venv"
STATE="$ROOT/.local-cloud"

# The scripts' Python modules leave no __pycache__ in the working tree.
export PYTHONDONTWRITEBYTECODE=1

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

# The running script's --help: its header comment, from line 2 to the first
# line that is not a comment, without the leading "# ".
usage() {
  awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"
}

# Short progress line on stderr.
say() {
  printf '%s: %s\n' "${SAY_PREFIX:-$(basename "$0")}" "$*" >&2
}

die() {
  say "error: $*"
  exit 1
}
