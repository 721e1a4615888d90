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
expect_output 'job p created: ReduceLROnPlateau, 1 worker, base learning rates 0.1$'
echo '{"job_id": "c", "spec": {"cosine_annealing_lr": {"t_max": 10}}, "base_lrs": [0.2]}' \
  > "$work/c.json"
expect_code 0 ctl --output=json create --file="$work/c.json"
cp "$work/out" "$work/c.out"
# As grpcurl prints it: the proto field names, defaults left out.
parses_as_json "$work/c.out" 'j.job_id === "c" && Number(j.spec.cosine_annealing_lr.t_max) === 10 &&
  !("jobId" in j) && !("waiting_steps" in j)'

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
parses_as_json "$work/y.out" 'j.job_id === "y" && j.world_size === 2 && j.aggregation === "MEAN" &&
  j.spec.cyclic_lr.max_lr[0] === 0.1 && j.spec.cyclic_lr.cycle_momentum === false'
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
expect_output ', 1 reduction$'

# set-lr says where the override took effect
expect_code 0 ctl set-lr p --lr=0.02
expect_output 'job p: learning rate 0.02 from step 4$'
expect_code 0 ctl --output=json set-lr p --factor=0.5 --step=100
cp "$work/out" "$work/set.json"
parses_as_json "$work/set.json" 'j.override.effective_step === "100" && j.override.factor === 0.5'

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
grep -q '^2  *0.05$' "$work/out" || { cat "$work/out" >&2; fail "preview: no step 2 at 0.05"; }
expect_code 0 ctl --output=json preview --spec='{"step_lr": {"step_size": 2}}' --steps=3
cp "$work/out" "$work/preview.json"
parses_as_json "$work/preview.json" 'j.values.length >= 3'

# exit codes: refused (1), command line (2), unreachable (3)
expect_code 1 ctl get nope
expect_output 'lrschedctl: job nope does not exist (NOT_FOUND from GetJob)'
expect_code 1 ctl set-lr nope --lr=0.1
expect_output 'job nope does not exist'
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

# Every flag is checked before anything is sent: exit 2, naming the flag,
# and nothing changes.
expect_code 2 ctl list --bogus
expect_output 'unknown flag --bogus'
expect_code 2 ctl set-lr c --factor=abc
expect_output "\-\-factor: 'abc' is not a number"
expect_code 2 ctl create w --spec='{"step_lr": {"step_size": 2}}' --world_size=-2
expect_output '\-\-world_size: must be 1 to 65536, got -2'
expect_code 2 ctl create w --spec='{"step_lr": {"step_size": 2}}' --base_lrs=0.1,-1
expect_output "\-\-base_lrs: '-1' is not a learning rate"
expect_code 2 ctl create w --spec='{"step_lr": {"step_size": 2}}' --max_look_ahead=100001
expect_output '\-\-max_look_ahead: must be 0 to 100000'
expect_code 2 ctl list --factor=2
expect_output 'list does not take \-\-factor'
expect_code 2 ctl list --page_size=0
expect_code 2 ctl watch c --from=-1
expect_code 2 ctl --timeout=0s list
expect_code 2 ctl plot c --out=/nonexistent-dir/x.svg
expect_output 'cannot write /nonexistent-dir/x.svg'
expect_code 2 ctl preview --spec='{"step_lr": {"step_size": 2}}' --steps=0
expect_code 1 ctl get w
expect_output 'job w does not exist'

# --help: the usage and the flags with their defaults, exit 0
expect_code 0 "$ctl_binary" --help
head -1 "$work/out" | grep -q '^lrschedctl: lrsched from the command line.$' ||
  { cat "$work/out" >&2; fail "--help does not start with the usage"; }
expect_output '  --timeout=10s'
expect_output 'Exit codes: 0 done'

# Unreachable: exit 3, naming the address and why
expect_code 3 "$ctl_binary" --server=127.0.0.1:1 --timeout=1s list
expect_output 'cannot reach the lrsched server at 127.0.0.1:1: nothing listens there (connection refused)'
expect_code 3 "$ctl_binary" --server=no-such-host.invalid:50051 --timeout=1s list
expect_output 'cannot reach the lrsched server at no-such-host.invalid:50051: the name no-such-host.invalid does not resolve'

# The internal "no limit" step is never shown: a cosine schedule decides all.
expect_code 0 ctl list
expect_output '^c  *CosineAnnealingLR  *1  *all  *- '
! grep -q 9007199254740991 "$work/out" || fail "list shows the endless step"
expect_code 0 ctl get c
expect_output 'decided steps:    all (the schedule takes no metric)'
expect_output 'handed out:       none yet'
! grep -q 9007199254740991 "$work/out" || fail "get shows the endless step"

# set-lr without metrics: the workers hold values ahead, and set-lr says so;
# a job created with a smaller max_look_ahead takes an override sooner.
step() {  # step JOB STEP: rank 0 asks for STEP and 1000 steps ahead
  "$buf" curl --protocol grpc --http2-prior-knowledge \
    --data "{\"job_id\": \"$1\", \"step\": $2, \"look_ahead\": 1000}" \
    "http://127.0.0.1:$port/lrsched.v1.SchedulerService/Step" > "$work/step.json"
}
step c 0
expect_code 0 ctl set-lr c --lr=0.01
expect_output 'job c: learning rate 0.01 from step 1001$'
expect_output 'The workers have asked for steps up to 0; the values up to step 1000 were'
expect_output '  handed out ahead of them, and no override changes those'
expect_code 0 ctl set-lr c --factor=0.5
expect_output 'note: step 1001 already has 1 override (learning rate 0.01); overrides of one step apply in the order they were made, this one last'
expect_code 0 ctl create m --spec='{"cosine_annealing_lr": {"t_max": 12}}' --base_lrs=0.1,0.2 \
  --max_look_ahead=10
step m 0
node -e 'const j = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
  if (j.values.length !== 11) { console.error(j.values.length + " values"); process.exit(1); }' \
  "$work/step.json" || fail "a Step answer holds more than max_look_ahead steps ahead"
# A Step refused (too far past what is computed) is not where a worker is.
timeout 10 "$buf" curl --protocol grpc --http2-prior-knowledge \
  --data '{"job_id": "m", "rank": 0, "step": 1000000000000}' \
  "http://127.0.0.1:$port/lrsched.v1.SchedulerService/Step" > "$work/far.out" 2>&1 || true
grep -q 'out_of_range' "$work/far.out" || { cat "$work/far.out" >&2; fail "the far Step was not refused"; }
expect_code 0 ctl get m
expect_output 'max look-ahead:   10 steps'
expect_output 'workers at step:  0 '
expect_code 2 ctl set-lr m --lr=0.2
expect_output 'job m has 2 parameter groups: give one rate for each (\-\-lr=0.2,0.2)'
expect_code 0 ctl set-lr m --lr=0.2,0.1
expect_output 'job m: learning rates 0.2,0.1 from step 11$'
expect_code 1 ctl create m --spec='{"cosine_annealing_lr": {"t_max": 12}}' --base_lrs=0.1,0.2
expect_output 'already exists with a different max_look_ahead (10, asked 0)'

# plot reads the values it draws without moving any worker's position.
expect_code 0 ctl create two --spec='{"cosine_annealing_lr": {"t_max": 12}}' --world_size=2
for at in "0 1" "1 5"; do
  set -- $at
  "$buf" curl --protocol grpc --http2-prior-knowledge \
    --data "{\"job_id\": \"two\", \"rank\": $1, \"step\": $2}" \
    "http://127.0.0.1:$port/lrsched.v1.SchedulerService/Step" > /dev/null
done
expect_code 0 ctl plot two --out="$work/two.svg"
expect_output 'wrote .*two.svg: 6 steps'
expect_code 0 ctl get two
expect_output 'workers at step:  1,5 '
echo "lrschedctl_test: every subcommand, output and exit code as expected"
