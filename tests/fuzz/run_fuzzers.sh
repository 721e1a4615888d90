#!/usr/bin/env bash
# Runs each fuzz target of a LRSCHED_FUZZ build for a while (make fuzz), one
# after the other, and prints per target how long it ran, how many inputs it
# executed and how large its corpus is. Each target starts from its checked-in
# seeds and regression inputs plus the corpus that earlier runs in the same
# build directory grew (BUILD/fuzz/corpus/TARGET, never the source tree).
# A failing input is written to BUILD/fuzz/artifacts/TARGET/; README.md says
# how to turn it into a regression test. Exits non-zero if any target failed.
#
# Usage: tests/fuzz/run_fuzzers.sh BUILD SECONDS TARGET...
set -uo pipefail
cd "$(dirname "$0")/../.."
build=$1
seconds=$2
shift 2

# A run that takes longer than this is a hang: no request may stall a server.
timeout=10
failed=()
summary=()
for target in "$@"; do
  name=${target%_fuzzer}
  corpus=$build/fuzz/corpus/$name
  artifacts=$build/fuzz/artifacts/$name
  log=$build/fuzz/$name.log
  mkdir -p "$corpus" "$artifacts"
  inputs=(tests/fuzz/corpus/"$name")
  [ -d tests/fuzz/regressions/"$name" ] && inputs+=(tests/fuzz/regressions/"$name")
  # The job fuzzer's runs each touch some 20,000 coverage features, where the
  # bookkeeping of entropic scheduling takes more than half of a short run.
  extra=()
  [ "$name" = job ] && extra=(-entropic=0)
  echo "== $target: fuzzing for ${seconds}s (log: $log)"
  start=$(date +%s)
  "$build/tests/fuzz/$target" -max_total_time="$seconds" -timeout="$timeout" \
    -print_final_stats=1 -artifact_prefix="$artifacts/" "${extra[@]}" "$corpus" "${inputs[@]}" \
    >"$log" 2>&1
  status=$?
  ran=$(($(date +%s) - start))
  executions=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
  files=$(find "$corpus" -type f | wc -l)
  bytes=$(du -sb "$corpus" | cut -f1)
  line="$target: ran ${ran}s, ${executions:-?} executions, corpus $files files ($bytes bytes)"
  if [ $status -ne 0 ]; then
    line="$line, FAILED (exit $status): $(ls "$artifacts" | tr '\n' ' ')"
    failed+=("$target")
    grep -E -m3 -A12 'ERROR: |fuzz check failed|runtime error' "$log"
  fi
  echo "$line"
  summary+=("$line")
done
echo "== fuzzing summary"
printf '%s\n' "${summary[@]}"
if [ ${#failed[@]} -ne 0 ]; then
  echo "failed: ${failed[*]} (inputs in $build/fuzz/artifacts/; see tests/fuzz/README.md)"
  exit 1
fi
