#!/usr/bin/env bash
# The demo: lrsched-server with its embedded store, and lrsched-trainer on 4
# MPI ranks taking every epoch's learning rate from it. First a linear
# warm-up followed by ReduceLROnPlateau on the aggregated validation loss,
# then a warm-up followed by cosine annealing; ends with a picture of each
# run.
#
# Usage: deploy/demo.sh BUILD_DIR
set -euo pipefail
build=${1:-build}
work=$(mktemp -d)
server_pid=""
cleanup() {
  [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null || true
}
trap cleanup EXIT

echo "== starting lrsched-server on a free local port (its log: $work/server.log)"
"$build/service/lrsched-server" --listen=127.0.0.1:0 --state="$work/state.db" \
  > "$work/server.log" 2>&1 &
server_pid=$!
for _ in $(seq 1 500); do
  grep -q '(port [0-9]*)' "$work/server.log" 2>/dev/null && break
  sleep 0.01
done
port=$(sed -n 's/.*(port \([0-9]*\)).*/\1/p' "$work/server.log")
if [ -z "$port" ]; then
  echo "lrsched-server did not start; its log:" >&2
  cat "$work/server.log" >&2
  exit 1
fi
echo "== lrsched-server on 127.0.0.1:$port, state in $work/state.db"

# mpirun refuses root unless told; a 2-core machine needs oversubscription.
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
train() {
  mpirun --oversubscribe --bind-to none -np 4 "$build/trainer/lrsched-trainer" \
    --server="127.0.0.1:$port" "$@"
}

echo
echo "== training 1 of 2: 4 MPI ranks of lrsched-trainer, 30 epochs (a line per epoch), taking"
echo "   each epoch's learning rate from lrsched-server: a linear warm-up for 3 epochs, then"
echo "   ReduceLROnPlateau(patience=2, factor=0.5) on the validation loss of all ranks,"
echo "   aggregated by lrsched"
train --job=plateau --epochs=30 --noise=3 --log_csv="$work/plateau.csv" \
  --spec='{"sequential_lr": {"schedulers": [
            {"linear_lr": {"start_factor": 0.1, "total_iters": 3}},
            {"reduce_lr_on_plateau": {"patience": 2, "factor": 0.5}}], "milestones": [3]}}'

echo
echo "== training 2 of 2: 4 MPI ranks, 15 epochs: a linear warm-up for 3 epochs, then"
echo "   CosineAnnealingLR(T_max=12)"
train --job=cosine --epochs=15 --noise=3 --solver=adam --base_lr=0.01 \
  --log_csv="$work/cosine.csv" \
  --spec='{"sequential_lr": {"schedulers": [
            {"linear_lr": {"start_factor": 0.1, "total_iters": 3}},
            {"cosine_annealing_lr": {"t_max": 12}}], "milestones": [3]}}'

echo
echo "== drawing both runs with lrschedctl plot, from the server's record and the epoch logs"
# --steps: the epochs trained. The workers asked for fewer steps than that:
# they train on values handed out ahead of them (the cosine run asked once).
for run in plateau:30 cosine:15; do
  "$build/client/lrschedctl" --server="127.0.0.1:$port" plot "${run%:*}" --log_scale \
    --steps="${run#*:}" --epoch_log="$work/${run%:*}.csv" --out="$work/${run%:*}.svg"
done

echo
echo "== stopping lrsched-server"
kill -TERM "$server_pid"
wait "$server_pid" || true
server_pid=""
echo
echo "== server stopped. The pictures (open them in a browser): $work/plateau.svg and"
echo "   $work/cosine.svg; the epoch logs: $work/plateau.csv and $work/cosine.csv"
