#!/usr/bin/env bash
# lrsched-preview's output as a person reads it: the step labels under the
# chart never run into each other, and rates are the shortest text that reads
# back as the same double (0.1, as Python and PyTorch print it, not
# 0.10000000000000001).
#
# Usage: preview_cli_test.sh LRSCHED_PREVIEW
set -euo pipefail
preview=$1
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail() {
  echo "preview_cli_test: $*" >&2
  exit 1
}
# axis_of OUTPUT: the line under the chart's dashes.
axis_of() { sed -n '/^ *+-*$/{n;p;}' "$1"; }

# Every chart width from the narrowest up, with few and many steps: a label
# glued to a number ("step 0step 3") is the collision.
for steps in 1 2 3 5 9 10 99 100 12345; do
  for width in 8 12 16 72; do
    "$preview" --spec='{"step_lr": {"step_size": 2}}' --steps="$steps" --width="$width" \
      > "$work/out" || fail "--steps=$steps --width=$width failed"
    axis=$(axis_of "$work/out")
    [ -n "$axis" ] || fail "--steps=$steps --width=$width: no step labels under the chart"
    if grep -q '[0-9]step' <<< "$axis"; then
      fail "--steps=$steps --width=$width: the step labels collide: '$axis'"
    fi
    grep -qE "(^ *step 0 +step $steps\$|^ *steps 0 to $steps\$)" <<< "$axis" ||
      fail "--steps=$steps --width=$width: not the first and last step: '$axis'"
  done
done

# When both labels fit, the last one ends under the chart's last column.
"$preview" --spec='{"step_lr": {"step_size": 30}}' --steps=100 > "$work/wide"
axis=$(axis_of "$work/wide")
dashes=$(sed -n '/^ *+-*$/p' "$work/wide")
[ "${#axis}" = "${#dashes}" ] ||
  fail "'step 100' does not end under the chart's last column: '$axis'"

# Rates: lr(0) of a base rate 0.1 is 0.1, and StepLR's 0.1 * 0.1 is the
# double Python prints as 0.010000000000000002.
"$preview" --spec='{"step_lr": {"step_size": 2}}' --base_lrs=0.1 --steps=3 > "$work/rates"
grep -qF '  lr(0) = 0.1   lr(3) = 0.010000000000000002' "$work/rates" ||
  { cat "$work/rates" >&2; fail "rates are not printed as their shortest round-trip text"; }
if grep -q '0\.10000000000000001' "$work/rates"; then fail "0.1 printed with 17 digits"; fi
"$preview" --spec='{"constant_lr": {"factor": 0.5, "total_iters": 2}}' --base_lrs=0.3 \
  --steps=2 > "$work/constant"
grep -qF '  lr(0) = 0.15   lr(2) = 0.3' "$work/constant" ||
  { cat "$work/constant" >&2; fail "ConstantLR's rates are not printed as 0.15 and 0.3"; }
echo "preview_cli_test: step labels apart at every width; rates printed in their shortest form"
