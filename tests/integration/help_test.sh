#!/usr/bin/env bash
# --help of every binary: exit 0, a usage line first, the binary's own
# flags with their defaults in lines a terminal shows whole, and nothing of
# the machine it was built on (Abseil's own --help printed "No flags matched"
# and named the build tree's paths).
#
# Usage: help_test.sh SOURCE_DIR BINARY... (each followed by a flag it must list)
set -euo pipefail
source_dir=$(cd "$1" && pwd)
shift
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail() {
  echo "help_test: $*" >&2
  exit 1
}
while [ $# -gt 0 ]; do
  binary=$1 flag=$2
  shift 2
  name=$(basename "$binary")
  got=0
  "$binary" --help > "$work/out" 2>&1 || got=$?
  [ "$got" = 0 ] || { cat "$work/out" >&2; fail "$name --help exited $got"; }
  head -1 "$work/out" | grep -q "^$name" ||
    { cat "$work/out" >&2; fail "$name --help does not start with its usage"; }
  grep -q -- "^  --$flag=" "$work/out" || { cat "$work/out" >&2; fail "$name --help: no --$flag"; }
  ! grep -q 'No flags matched\|SetProgramUsageMessage' "$work/out" ||
    fail "$name --help: Abseil's own help"
  ! grep -qF "$source_dir" "$work/out" || fail "$name --help names the source tree"
  long=$(awk 'length > 100' "$work/out" | head -1)
  [ -z "$long" ] || fail "$name --help has a line of more than 100 columns: $long"
  "$binary" --helpfull > "$work/full" 2>&1 || true
  ! grep -qF "$source_dir" "$work/full" || fail "$name --helpfull names the source tree"
  echo "help_test: $name --help: $(grep -c '^  --' "$work/out") flags"
done
