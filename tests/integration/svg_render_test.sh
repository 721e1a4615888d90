#!/usr/bin/env bash
# lrschedctl's pictures: `plot JOB` of a ReduceLROnPlateau job that was
# reduced and overridden, of a cosine job that was handed out far ahead, and
# `preview --plot`, checked for what they must show (a line per group, the
# metric panel, a mark per reduction drawn, log-scale ticks, only the steps
# the workers asked for), then rendered by headless Chromium and checked as
# pictures of the expected size that are not blank, whose legends hide no
# curve. A blank SVG, and a legend moved onto the curves, must fail those
# checks.
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
# decided by steps 2, 4, 6, 8 and 10, taking effect at 3, 5, 7, 9 and 11),
# then an override asked for step 12, which takes effect at 13: step 12 was
# handed out with the last decision. The workers asked for steps 0..11 only,
# so the picture ends at step 11, without the override.
ctl create p --spec='{"reduce_lr_on_plateau": {"patience": 1, "factor": 0.5}}' \
  --base_lrs=0.1,0.01 --world_size=1 > /dev/null
for step in $(seq 0 11); do
  call Step "{\"job_id\": \"p\", \"step\": $step}"
  call ReportMetric "{\"job_id\": \"p\", \"step\": $step, \"value\": 1.0}"
done
ctl set-lr p --lr=0.02,0.002 --step=12 > /dev/null
ctl plot p --out="$work/p.svg" --log_scale > "$work/plot.out"
grep -q "wrote $work/p.svg: 12 steps, 12 metrics, 5 marks" "$work/plot.out" ||
  { cat "$work/plot.out" >&2; fail "plot did not say what it drew"; }
has "$work/p.svg" 4 '<polyline class="series"'
has "$work/p.svg" 1 'data-name="learning rate, group 0" data-points="12"'
has "$work/p.svg" 1 'data-name="learning rate, group 1" data-points="12"'
has "$work/p.svg" 1 'data-name="aggregated metric" data-points="12"'
has "$work/p.svg" 1 'data-name="best so far (what ReduceLROnPlateau compares with)"'
has "$work/p.svg" 10 '<title>plateau reduction: from step'
has "$work/p.svg" 2 '<title>plateau reduction: from step 11, lr 0.003125,0.0003125</title>'
has "$work/p.svg" 0 'override'
has "$work/p.svg" 2 '>plateau reduction (5)</text>'
has "$work/p.svg" 1 'learning rate (log scale)'
grep -q '>0.01</text>' "$work/p.svg" || fail "no log-scale tick 0.01"

# Two identical groups share one line, and the legend says so.
ctl create twins --spec='{"step_lr": {"step_size": 2}}' --base_lrs=0.1,0.1 > /dev/null
call Step '{"job_id": "twins", "step": 5}'
ctl plot twins --out="$work/twins.svg" > /dev/null
has "$work/twins.svg" 1 '<polyline class="series"'
has "$work/twins.svg" 1 'data-name="learning rate, groups 0 and 1 (identical)" data-points="6"'

# A schedule without metrics hands values out far ahead of the workers (1,000
# steps here): the picture still ends at the furthest step asked for, or at
# --steps.
ctl create c --spec='{"cosine_annealing_lr": {"t_max": 12}}' --base_lrs=0.1 > /dev/null
call Step '{"job_id": "c", "step": 0, "look_ahead": 1000}'
ctl plot c --out="$work/c.svg" > /dev/null
has "$work/c.svg" 1 'data-name="learning rate" data-points="1"'
ctl plot c --out="$work/c20.svg" --steps=20 > /dev/null
has "$work/c20.svg" 1 'data-name="learning rate" data-points="20"'
grep -q '>job c: CosineAnnealingLR, base_lrs 0.1</text>' "$work/c20.svg" ||
  fail "the title does not name the schedule and its base rate"

# With lrsched-trainer's epoch log: the metric is the validation loss, and
# the training loss gets a panel of its own.
{
  echo "epoch,train_loss,validation_loss,validation_accuracy,lr,samples_per_second,reduced"
  for epoch in $(seq 0 11); do echo "$epoch,0.$((90 - epoch)),1.0,0.5,0.1,1000,0"; done
} > "$work/epochs.csv"
ctl plot p --out="$work/with-log.svg" --epoch_log="$work/epochs.csv" > /dev/null
has "$work/with-log.svg" 1 'data-name="training loss" data-points="12"'
has "$work/with-log.svg" 1 'data-name="validation loss (aggregated by lrsched)" data-points="12"'
has "$work/with-log.svg" 3 '<g class="panel"'
echo "epoch,loss" > "$work/bad.csv"
if ctl plot p --out="$work/bad.svg" --epoch_log="$work/bad.csv" 2> "$work/bad.out"; then
  fail "an epoch log without the loss columns was accepted"
fi
grep -q 'has no epoch, train_loss and validation_loss columns' "$work/bad.out" ||
  fail "the bad epoch log was refused without saying why"

ctl preview --spec='{"one_cycle_lr": {"max_lr": [0.1], "total_steps": 100}}' --steps=99 \
  --plot="$work/preview.svg" > /dev/null
has "$work/preview.svg" 1 'data-name="learning rate" data-points="100"'

height_of() { sed -n 's/^<svg [^>]*height="\([0-9]*\)".*/\1/p' "$1"; }
# check_legends SVG: renders it as it is, without its legends, and with
# nothing but its curves and marks, and checks the legends' boxes (data-box)
# against the pixels: everything a legend draws lies in its box, and no
# curve or mark crosses a box.
check_legends() {
  local svg=$1 name height boxes
  name=$(basename "$svg" .svg)
  height=$(height_of "$svg")
  sed '/<g class="legend"/,/^<\/g>$/d' "$svg" > "$work/$name-nolegend.svg"
  grep -E '^(<svg|<rect class="background"|<g class="panel"|<polyline|<g class="mark"|</g>|</svg>)' \
    "$work/$name-nolegend.svg" > "$work/$name-curves.svg"
  render "$svg" 900 "$height" "$work/$name.png"
  render "$work/$name-nolegend.svg" 900 "$height" "$work/$name-nolegend.png"
  render "$work/$name-curves.svg" 900 "$height" "$work/$name-curves.png"
  boxes=$(sed -n 's/.*class="legend"[^>]*data-box="\([0-9 ]*\)".*/\1/p' "$svg" | paste -sd,)
  [ -n "$boxes" ] || fail "$svg has no legend"
  node "$here/../testing/legend_check.cjs" "$work/$name.png" "$work/$name-nolegend.png" \
    "$work/$name-curves.png" "$boxes"
}

for svg in "$work/p.svg" "$work/with-log.svg" "$work/preview.svg"; do
  height=$(height_of "$svg")
  render "$svg" 900 "$height" "$work/$(basename "$svg" .svg).png"
  node "$here/../testing/png_check.cjs" "$work/$(basename "$svg" .svg).png" 900 "$height"
  check_legends "$svg"
done
# The README's picture of the demo, drawn by the same code.
readme_picture="$here/../../doc/images/plateau-run.svg"
cp "$readme_picture" "$work/readme.svg"
check_legends "$work/readme.svg"

# The check itself: the first legend moved (box and all) 60 pixels down, onto
# the first panel's curves, fails it.
perl -pe 'if (!$done && s/class="legend" data-box="(\d+) (\d+) /"class=\"legend\" transform=\"translate(0 60)\" data-box=\"$1 " . ($2 + 60) . " "/e) { $done = 1 }' \
  "$work/p.svg" > "$work/moved.svg"
if check_legends "$work/moved.svg" 2> "$work/moved.out"; then
  fail "a legend over the curves passed the check"
fi
grep -q "in a legend's box" "$work/moved.out" || { cat "$work/moved.out" >&2; fail "the moved legend failed for another reason"; }

render "$here/blank.svg" 900 400 "$work/blank.png"
if node "$here/../testing/png_check.cjs" "$work/blank.png" 900 400 2> "$work/blank.out"; then
  fail "a blank picture passed the check"
fi
grep -q 'is blank' "$work/blank.out" || fail "the blank picture failed for another reason"
echo "svg_render_test: pictures drawn, rendered and checked; the blank one and a legend on the curves rejected"
