#!/usr/bin/env bash
# The demo: learning-rate curves of a few schedules, computed by lrsched's math
# (bit for bit PyTorch's). Usage: deploy/demo.sh BUILD_DIR
set -euo pipefail
preview="${1:-build}/service/lrsched-preview"

"$preview" --title="StepLR(step_size=30, gamma=0.5)" --steps=100 \
  --spec='{"step_lr": {"step_size": 30, "gamma": 0.5}}'
"$preview" --title="Linear warm-up for 10 steps, then CosineAnnealingLR(T_max=90)" --steps=100 \
  --spec='{"sequential_lr": {"schedulers": [
            {"linear_lr": {"start_factor": 0.1, "total_iters": 10}},
            {"cosine_annealing_lr": {"t_max": 90}}], "milestones": [10]}}'
"$preview" --title="CyclicLR(base_lr=0.01, max_lr=0.1, step_size_up=10, mode=triangular2)" \
  --steps=100 --spec='{"cyclic_lr": {"base_lr": [0.01], "max_lr": [0.1],
                       "step_size_up": 10, "mode": "TRIANGULAR2"}}'
"$preview" --title="OneCycleLR(max_lr=0.1, total_steps=100)" --steps=100 \
  --spec='{"one_cycle_lr": {"max_lr": [0.1], "total_steps": 100}}'
"$preview" --title="ReduceLROnPlateau(patience=2) on a loss that stalls at 0.3" --steps=40 \
  --spec='{"reduce_lr_on_plateau": {"patience": 2, "factor": 0.5}}' \
  --metrics="$(seq 0 39 | awk '{v = 1 - 0.1 * $1; if (v < 0.3) v = 0.3; printf "%s%g", (NR > 1 ? "," : ""), v}')"
