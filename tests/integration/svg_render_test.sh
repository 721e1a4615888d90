#!/usr/bin/env bash
# lrschedctl's pictures: `plot JOB` of a ReduceLROnPlateau job that was
# reduced and overridden, and `preview --plot`, checked for what they must
# show (a line per group, the metric panel, a mark per reduction and
# override, log-scale ticks), then rendered by headless Chromium and checked
# as pictures of the expected size that are not blank. A blank SVG, rendered
# the same way, must fail that check.
#
# Usage: svg_render_test.sh LRSCHEDCTL SERVER_BINARY BUF_BINARY
set -euo pipefail
ctl_binary=$1
server_binary=$2
buf=$3
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
server_pid=""
source "$here/../testing/start_server.sh"
cleanup() {
  stop_server
  rm -rf "$work"
}
trap cleanup EXIT
fail() {
  echo "svg_render_test: $*" >&2
  exit 1
}
command -v chromium > /dev/null || fail "no chromium; 'make test' installs Debian's"
start_server "$server_binary" "$work/server.log"
ctl() { "$ctl_binary" --server="127.0.0.1:$port" --timeout=5s "$@"; }
call() {
  "$buf" curl --protocol grpc --http2-prior-knowledge --data "$2" \
    "http://127.0.0.1:$port/lrsched.v1.SchedulerService/$1" > /dev/null
}
render() {  # render SVG WIDTH HEIGHT PNG
  chromium --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
    --disable-background-networking --disable-component-update --disable-sync \
    --user-data-dir="$work/chromium" --hide-scrollbars --window-size="$2,$3" \
    --screenshot="$4" "file://$1" > "$work/chromium.log" 2>&1 ||
    { cat "$work/chromium.log" >&2; fail "chromium could not render $1"; }
}
has() {  # has FILE COUNT PATTERN
  local got
  got=$(grep -c -- "$3" "$1" || true)
  [ "$got" = "$2" ] || fail "$1: $got lines with '$3', not $2"
}

# A job of two groups: 12 epochs of a flat metric (patience 1: reductions
# decided by steps 2, 4, 6, 8 and 10), then an override asked for step 12,
# which takes effect at 13: step 12 was handed out with the last decision.
ctl create p --spec='{"reduce_lr_on_plateau": {"patience": 1, "factor": 0.5}}' \
  --base_lrs=0.1,0.01 --world_size=1 > /dev/null
for step in $(seq 0 11); do
  call Step "{\"job_id\": \"p\", \"step\": $step}"
  call ReportMetric "{\"job_id\": \"p\", \"step\": $step, \"value\": 1.0}"
done
ctl set-lr p --lr=0.02 --step=12 > /dev/null
ctl plot p --out="$work/p.svg" --log_scale > "$work/plot.out"
grep -q "wrote $work/p.svg: 13 steps, 12 metrics, 6 marks" "$work/plot.out" ||
  { cat "$work/plot.out" >&2; fail "plot did not say what it drew"; }
has "$work/p.svg" 3 '<polyline class="series"'
has "$work/p.svg" 1 'data-name="learning rate, group 0" data-points="13"'
has "$work/p.svg" 1 'data-name="aggregated metric (validation loss)" data-points="12"'
has "$work/p.svg" 10 '<title>plateau reduction: from step'
has "$work/p.svg" 2 '<title>override: from step 13</title>'
has "$work/p.svg" 1 'learning rate (log scale)'
grep -q '>0.01</text>' "$work/p.svg" || fail "no log-scale tick 0.01"

# With lrsched-trainer's epoch log: the training loss joins the metric panel.
{
  echo "epoch,train_loss,validation_loss,validation_accuracy,lr,samples_per_second,reduced"
  for epoch in $(seq 0 11); do echo "$epoch,0.$((90 - epoch)),1.0,0.5,0.1,1000,0"; done
} > "$work/epochs.csv"
ctl plot p --out="$work/with-log.svg" --epoch_log="$work/epochs.csv" > /dev/null
has "$work/with-log.svg" 1 'data-name="training loss" data-points="12"'
echo "epoch,loss" > "$work/bad.csv"
if ctl plot p --out="$work/bad.svg" --epoch_log="$work/bad.csv" 2> "$work/bad.out"; then
  fail "an epoch log without the loss columns was accepted"
fi
grep -q 'has no epoch, train_loss and validation_loss columns' "$work/bad.out" ||
  fail "the bad epoch log was refused without saying why"

ctl preview --spec='{"one_cycle_lr": {"max_lr": [0.1], "total_steps": 100}}' --steps=99 \
  --plot="$work/preview.svg" > /dev/null
has "$work/preview.svg" 1 'data-name="learning rate" data-points="100"'

height=$(sed -n 's/^<svg [^>]*height="\([0-9]*\)".*/\1/p' "$work/p.svg")
[ "$height" = 770 ] || fail "the job's picture is $height high, not 770"
render "$work/p.svg" 900 770 "$work/p.png"
node "$here/../testing/png_check.cjs" "$work/p.png" 900 770
render "$work/preview.svg" 900 410 "$work/preview.png"
node "$here/../testing/png_check.cjs" "$work/preview.png" 900 410

render "$here/blank.svg" 900 400 "$work/blank.png"
if node "$here/../testing/png_check.cjs" "$work/blank.png" 900 400 2> "$work/blank.out"; then
  fail "a blank picture passed the check"
fi
grep -q 'is blank' "$work/blank.out" || fail "the blank picture failed for another reason"
echo "svg_render_test: pictures drawn, rendered and checked; the blank one rejected"
