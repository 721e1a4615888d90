#!/usr/bin/env bash
# What taking the learning rate from lrsched costs a trainer: the same
# training on 2 MPI ranks with its rates from the service (a
# ReduceLROnPlateau job: one Step and one ReportMetric per rank and epoch,
# the report durable with --sync=full) and with the same schedule computed in
# each rank (no RPC). Runs are alternated; prints each wall time, the medians
# and the ratio.
#
# Usage: tests/bench/trainer_overhead.sh BUILD_DIR [RUNS]   (EPOCHS=10 by default)
set -euo pipefail
build=${1:-build}
runs=${2:-3}
work=$(mktemp -d)
server_pid=""
cleanup() {
  [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

source "$(dirname "$0")/../testing/start_server.sh"
start_server "$build/service/lrsched-server" "$work/server.log" --state="$work/state.db" --sync=full
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
spec='{"reduce_lr_on_plateau": {"patience": 2, "factor": 0.5}}'
flags=(--samples=200000 --dimension=32 --hidden=64 --epochs=${EPOCHS:-10} --batch_size=256 --noise=3)

run() {  # run NAME EXTRA-FLAGS...: prints the wall time in seconds
  local start end
  start=$(date +%s.%N)
  mpirun --oversubscribe --bind-to none -np 2 "$build/trainer/lrsched-trainer" "${flags[@]}" \
    --spec="$spec" "$@" > "$work/$1.out" 2>&1 || { cat "$work/$1.out" >&2; exit 1; }
  end=$(date +%s.%N)
  awk -v a="$start" -v b="$end" 'BEGIN { printf "%.3f\n", b - a }'
}

service=()
local_runs=()
for i in $(seq 1 "$runs"); do
  service+=("$(run "service$i" --server="127.0.0.1:$port" --job="overhead$i")")
  local_runs+=("$(run "local$i" --scheduler=local)")
done
median() { printf '%s\n' "$@" | sort -g | sed -n "$(( ($# + 1) / 2 ))p"; }
s=$(median "${service[@]}")
l=$(median "${local_runs[@]}")
echo "service: ${service[*]} s (median $s)"
echo "local:   ${local_runs[*]} s (median $l)"
echo "ratio service/local: $(awk -v a="$s" -v b="$l" 'BEGIN { printf "%.4f\n", a / b }')"
grep -h '^done' "$work/service1.out"
