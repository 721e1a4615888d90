#!/usr/bin/env bash
# lrsched-trainer against PyTorch (Debian's python3-torch, /usr/bin/python3)
# on the same work: the same MLP in float64, the same CSV, split, shards,
# batch size, SGD with momentum at a constant rate; 1 process, and 2 (MPI for
# lrsched-trainer, DistributedDataParallel on gloo for PyTorch). Both use one
# thread per process. Runs alternate between the two so that the machine's
# drift falls on both; the table gives medians of the per-run ratios.
# Samples per second are those of the training loop (validation excluded),
# the median over the epochs after the first. Fails if the two do not reach
# the same validation loss (within TOLERANCE, relative): their initial
# weights differ, so equal to the bit is not expected.
#
# Usage: tests/bench/trainer_vs_pytorch.sh BUILD_DIR [RUNS] [EPOCHS] [SAMPLES] [TOLERANCE]
set -euo pipefail
build=${1:-build}
runs=${2:-3}
epochs=${3:-6}
samples=${4:-40000}
tolerance=${5:-0.05}
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMP_NUM_THREADS=1

# median of the samples_per_second column ($2) after the header and epoch 0
median_rate() {
  awk -F, -v column="$2" 'NR > 2 { print $column }' "$1" | sort -g |
    awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'
}
final_loss() { tail -1 "$1" | cut -d, -f3; }
median() { sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

echo "| model (features-hidden-classes) | processes | lrsched-trainer samples/s | PyTorch samples/s | ratio | validation loss (ours / PyTorch) |"
echo "| --- | ---: | ---: | ---: | ---: | --- |"
status=0
for model in 16-32-4 64-256-10; do
  IFS=- read -r dimension hidden classes <<< "$model"
  /usr/bin/python3 "$here/pytorch_trainer.py" --make_data "$work/data.csv" \
    --samples "$samples" --dimension "$dimension" --classes "$classes"
  for processes in 1 2; do
    ours=() theirs=() ratios=()
    for run in $(seq 1 "$runs"); do
      mpirun --oversubscribe --bind-to none -np "$processes" "$build/trainer/lrsched-trainer" \
        --scheduler=local --spec='{"step_lr": {"step_size": 1000000}}' --solver=momentum \
        --base_lr=0.1 --momentum=0.9 --batch_size=64 --hidden="$hidden" --epochs="$epochs" \
        --csv="$work/data.csv" --log_csv="$work/ours.csv" > /dev/null
      /usr/bin/python3 "$here/pytorch_trainer.py" --csv "$work/data.csv" \
        --processes "$processes" --hidden "$hidden" --epochs "$epochs" --batch_size 64 \
        --lr 0.1 --momentum 0.9 --log "$work/theirs.csv"
      ours+=("$(median_rate "$work/ours.csv" 6)")
      theirs+=("$(median_rate "$work/theirs.csv" 4)")
      ratios+=("$(awk -v a="${ours[-1]}" -v b="${theirs[-1]}" 'BEGIN { printf "%.3f", a / b }')")
      echo "run $run: $model on $processes: ours ${ours[-1]}/s, PyTorch ${theirs[-1]}/s," \
        "ratio ${ratios[-1]}" >&2
    done
    our_loss=$(final_loss "$work/ours.csv")
    their_loss=$(final_loss "$work/theirs.csv")
    echo "| $model | $processes | $(printf '%s\n' "${ours[@]}" | median) |" \
      "$(printf '%s\n' "${theirs[@]}" | median) | $(printf '%s\n' "${ratios[@]}" | median) |" \
      "$our_loss / $their_loss |"
    if ! awk -v a="$our_loss" -v b="$their_loss" -v t="$tolerance" \
         'BEGIN { d = (a - b) / b; exit !(d < t && d > -t) }'; then
      echo "trainer_vs_pytorch: $model on $processes: validation loss $our_loss against" \
        "PyTorch's $their_loss, more than $tolerance apart" >&2
      status=1
    fi
  done
done
exit $status
