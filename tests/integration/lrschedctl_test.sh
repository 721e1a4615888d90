#!/usr/bin/env bash
# lrschedctl against a real server: every subcommand, its table and JSON
# output (which must parse), its exit codes, and watch following a plateau
# reduction (reported by buf curl, an independent client), an override, a
# kill -9 and restart of the server, and the deletion.
#
# Usage: lrschedctl_test.sh LRSCHEDCTL SERVER_BINARY BUF_BINARY
set -euo pipefail
ctl_binary=$1
server_binary=$2
buf=$3

work=$(mktemp -d)
server_pid=""
watch_pid=""
source "$(dirname "$0")/../testing/start_server.sh"
cleanup() {
  [ -n "$watch_pid" ] && kill "$watch_pid" 2>/dev/null || true
  stop_server
  rm -rf "$work"
}
trap cleanup EXIT
start_server "$server_binary" "$work/server.log" --state="$work/state.db"

ctl() { "$ctl_binary" --server="127.0.0.1:$port" --timeout=5s "$@"; }
fail() {
  echo "lrschedctl_test: $*" >&2
  exit 1
}
# expect_code CODE COMMAND...: runs it, output in $work/out, and checks its exit code.
expect_code() {
  local want=$1 got=0
  shift
  "$@" > "$work/out" 2>&1 || got=$?
  [ "$got" = "$want" ] || { cat "$work/out" >&2; fail "$* exited $got, not $want"; }
}
expect_output() {
  grep -q -- "$1" "$work/out" || { cat "$work/out" >&2; fail "no '$1' in the output"; }
}
parses_as_json() {  # parses_as_json FILE CONDITION-ON-j
  node -e '
    const j = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
    if (!(eval(process.argv[2]))) { console.error("not " + process.argv[2]); process.exit(1); }
  ' "$1" "$2" || fail "the JSON output does not hold $2"
}
report() {  # report STEP VALUE: the only worker's metric, through buf curl
  "$buf" curl --protocol grpc --http2-prior-knowledge \
    --data "{\"job_id\": \"p\", \"rank\": 0, \"step\": $1, \"value\": $2}" \
    "http://127.0.0.1:$port/lrsched.v1.SchedulerService/ReportMetric" > /dev/null
}

# create, with the spec from flags and from a file
expect_code 0 ctl create p --spec='{"reduce_lr_on_plateau": {"patience": 1, "factor": 0.5}}' \
  --base_lrs=0.1 --world_size=1
expect_output 'job p created: ReduceLROnPlateau, 1 workers'
echo '{"job_id": "c", "spec": {"cosine_annealing_lr": {"t_max": 10}}, "base_lrs": [0.2]}' \
  > "$work/c.json"
expect_code 0 ctl --output=json create --file="$work/c.json"
cp "$work/out" "$work/c.out"
parses_as_json "$work/c.out" 'j.jobId === "c" && Number(j.spec.cosineAnnealingLr.tMax) === 10'

cat > "$work/y.yaml" <<'YAML'
# A CreateJobRequest in the API's JSON form, written as YAML.
job_id: y
base_lrs: [0.1, 0.01]
world_size: 2
aggregation: MEAN
spec:
  cyclic_lr:
    base_lr: [0.001]
    max_lr: [0.1]
    step_size_up: 4
    cycle_momentum: false
YAML
expect_code 0 ctl --output=json create --file="$work/y.yaml"
cp "$work/out" "$work/y.out"
parses_as_json "$work/y.out" 'j.jobId === "y" && j.worldSize === 2 && j.aggregation === "MEAN" &&
  j.spec.cyclicLr.maxLr[0] === 0.1 && j.spec.cyclicLr.cycleMomentum === false'
printf 'job_id: [unclosed\n' > "$work/bad.yaml"
expect_code 2 ctl create --file="$work/bad.yaml"
expect_output 'is not YAML'
expect_code 0 ctl delete y

# list and get, as a table and as JSON
expect_code 0 ctl list
expect_output 'CosineAnnealingLR'
expect_output 'ReduceLROnPlateau'
expect_code 0 ctl list --output=json
cp "$work/out" "$work/list.json"
parses_as_json "$work/list.json" 'j.jobs.length === 2'
expect_code 0 ctl get c
expect_output 'scheduler:        CosineAnnealingLR'

# watch follows the job from its creation
ctl watch p > "$work/watch.out" 2>&1 &
watch_pid=$!

# a plateau reduction: the metric stalls for more than `patience` epochs
report 0 1.0
report 1 1.0
report 2 1.0
expect_code 0 ctl get p
expect_output 'learning rate:    '
expect_output '1 reductions'

# set-lr says where the override took effect
expect_code 0 ctl set-lr p --lr=0.02
expect_output 'job p: learning rates 0.02 from step'
expect_code 0 ctl --output=json set-lr p --factor=0.5 --step=100
cp "$work/out" "$work/set.json"
parses_as_json "$work/set.json" 'j.override.effectiveStep === "100" && j.override.factor === 0.5'

# the server dies and comes back on the same port: watch resumes
kill -9 "$server_pid"
wait "$server_pid" 2>/dev/null || true
"$server_binary" --listen="127.0.0.1:$port" --state="$work/state.db" > "$work/server2.log" 2>&1 &
server_pid=$!
for _ in $(seq 1 500); do
  grep -q '(port' "$work/server2.log" 2>/dev/null && break
  sleep 0.01
done

# an override after the restart reaches the watcher: it has reconnected
expect_code 0 ctl set-lr p --lr=0.03
for _ in $(seq 1 1000); do
  grep -q 'override: learning rates 0.03' "$work/watch.out" && break
  sleep 0.01
done
grep -q 'override: learning rates 0.03' "$work/watch.out" ||
  { cat "$work/watch.out" >&2; fail "watch did not resume after the restart"; }

expect_code 0 ctl delete p
expect_output 'job p deleted'
for _ in $(seq 1 500); do
  kill -0 "$watch_pid" 2>/dev/null || break
  sleep 0.01
done
wait "$watch_pid" || fail "watch exited $? (output: $(cat "$work/watch.out"))"
watch_pid=""
for line in 'created: ReduceLROnPlateau' 'aggregated: step 2' 'REDUCED' \
            'override: learning rates 0.02' 'override: x 0.5' 'deleted'; do
  grep -q -- "$line" "$work/watch.out" || { cat "$work/watch.out" >&2; fail "watch: no '$line'"; }
done
[ "$(grep -c 'created:' "$work/watch.out")" = 1 ] || fail "watch showed an event twice"

# preview, as a table and as JSON
expect_code 0 ctl preview --spec='{"step_lr": {"step_size": 2, "gamma": 0.5}}' --steps=4
expect_output '       2  0.05'
expect_code 0 ctl --output=json preview --spec='{"step_lr": {"step_size": 2}}' --steps=3
cp "$work/out" "$work/preview.json"
parses_as_json "$work/preview.json" 'j.values.length >= 3'

# exit codes: refused (1), command line (2), unreachable (3)
expect_code 1 ctl get nope
expect_output 'NOT_FOUND'
expect_code 1 ctl create bad --spec='{"step_lr": {"step_size": 0}}' --base_lrs=0.1
expect_output 'step_size'
expect_code 2 ctl frobnicate
expect_output "unknown subcommand 'frobnicate'"
expect_code 2 ctl create x --spec='{"no_such": 1}'
expect_output 'not a lrsched.v1.SchedulerSpec'
expect_code 2 ctl set-lr c
expect_output 'give either --lr or --factor'
expect_code 2 ctl --output=yaml list
expect_code 0 ctl set-lr --help
expect_output 'usage: lrschedctl'
expect_code 3 "$ctl_binary" --server=127.0.0.1:1 --timeout=1s list
echo "lrschedctl_test: every subcommand, output and exit code as expected"
