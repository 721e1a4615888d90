#!/usr/bin/env bash
# lrschedctl's promises, tried as an operator breaks them, against real
# servers (one plaintext, one TLS):
#   - a wrong command line exits 2 naming the flag, before anything is sent:
#     every such command is also run against a port where nothing listens
#     and must still exit 2, at once;
#   - refusals exit 1 with the server's words; an unreachable server exits 3
#     naming the address and why (refused, not resolved, not answering);
#   - --output=json uses the proto field names;
#   - set-lr's explanations on a job of several groups, stacked overrides, a
#     plateau job, a cosine job with --max_look_ahead;
#   - plot draws the steps the workers reached, or --steps.
# Checks that fail on the current lrschedctl are marked DEFECT and run only
# with LRSCHEDCTL_CHECK_DEFECTS=1; each says what lrschedctl should do.
#
# Usage: lrschedctl_adversarial_test.sh LRSCHEDCTL SERVER_BINARY BUF MAKE_CERTS
set -euo pipefail
ctl_binary=$1
server_binary=$2
buf=$3
make_certs=$4
check_defects=${LRSCHEDCTL_CHECK_DEFECTS:-1}

work=$(mktemp -d)
server_pid=""
silent_pid=""
pids=()
source "$(dirname "$0")/../testing/start_server.sh"
cleanup() {
  for pid in "${pids[@]}" $silent_pid; do
    kill -9 "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  rm -rf "$work"
}
trap cleanup EXIT

start_server "$server_binary" "$work/server.log"
plain_port=$port
pids+=("$server_pid")
"$make_certs" "$work/certs" > /dev/null
start_server "$server_binary" "$work/tls_server.log" --tls_cert_file="$work/certs/server.pem" \
  --tls_key_file="$work/certs/server.key"
tls_port=$port
pids+=("$server_pid")
server_pid=""
# A port where something accepts connections and never says a word.
node -e 'require("net").createServer(() => {}).listen(0, "127.0.0.1", function () {
           console.log(this.address().port); })' > "$work/silent.port" &
silent_pid=$!
for _ in $(seq 1 500); do
  [ -s "$work/silent.port" ] && break
  sleep 0.01
done
silent_port=$(cat "$work/silent.port")
# A port where nothing listens: bound and closed again.
refused_port=$(node -e 'const s = require("net").createServer().listen(0, "127.0.0.1", () => {
                          console.log(s.address().port); s.close(); })')

failures=0
defects=0
fail() {
  echo "lrschedctl_adversarial_test: $*" >&2
  failures=$((failures + 1))
}
# run [ENV=VALUE...] -- ARGS...: lrschedctl against the plaintext server; the
# output (stdout and stderr) in $out, the exit code in $code, the seconds in $took.
run() {
  local -a environment=()
  while [ "$1" != "--" ]; do
    environment+=("$1")
    shift
  done
  shift
  local start end
  start=$(date +%s%N)
  code=0
  env LRSCHED_SERVER="127.0.0.1:$plain_port" "${environment[@]}" "$ctl_binary" "$@" \
    > "$work/out" 2>&1 || code=$?
  end=$(date +%s%N)
  took=$(((end - start) / 1000000000))
  out=$(cat "$work/out")
}
ctl() { run -- "$@"; }
# expect CODE PATTERN ARGS...: lrschedctl ARGS exits CODE and prints a line
# matching the extended regular expression PATTERN.
expect() {
  local want=$1 pattern=$2
  shift 2
  ctl "$@"
  if [ "$code" != "$want" ] || ! grep -Eq -- "$pattern" <<< "$out"; then
    fail "lrschedctl $* exited $code (want $want), printed:
$out
(want a line matching: $pattern)"
  fi
}
# usage PATTERN ARGS...: a command-line mistake, exit 2, seen before anything
# is sent: the same command against a port where nothing listens exits 2 too,
# at once (a second or so on a loaded machine), not 3 after --timeout.
usage() {
  local pattern=$1
  shift
  expect 2 "$pattern" "$@"
  run LRSCHED_SERVER="127.0.0.1:$refused_port" -- --timeout=60s "$@"
  if [ "$code" != 2 ] || [ "$took" -ge 10 ]; then
    fail "lrschedctl $* against nothing exited $code after ${took}s: the server was asked first"
  fi
}
# defect NAME SHOULD COMMAND...: a check that fails on the current code;
# runs only with LRSCHEDCTL_CHECK_DEFECTS=1.
defect() {
  local name=$1 should=$2
  shift 2
  defects=$((defects + 1))
  [ "$check_defects" = 1 ] || return 0
  local before=$failures
  "$@"
  [ "$failures" = "$before" ] || echo "  DEFECT $name: $should" >&2
}
no_sentinel() {
  if grep -q 9007199254740991 <<< "$out"; then fail "lrschedctl showed the internal step: $out"; fi
}
json_names() {  # json_names: $out is JSON with proto field names only
  node -e '
    const names = (v) => v && typeof v === "object"
        ? Object.entries(v).flatMap(([k, x]) => (Array.isArray(v) ? [] : [k]).concat(names(x)))
        : [];
    const text = require("fs").readFileSync(process.argv[1], "utf8");
    const docs = text.trim().split(/\n(?=\{)/).map((d) => JSON.parse(d));
    const camel = names(docs).filter((k) => /[A-Z]/.test(k));
    if (camel.length) { console.error("camelCase: " + camel.join(", ")); process.exit(1); }
  ' "$work/out" || fail "--output=json of '$*' is not proto-named JSON: $out"
}
step() {  # step JOB RANK STEP LOOK_AHEAD: a worker's Step, through buf curl
  "$buf" curl --protocol grpc --http2-prior-knowledge \
    --data "{\"job_id\": \"$1\", \"rank\": $2, \"step\": $3, \"look_ahead\": $4}" \
    "http://127.0.0.1:$plain_port/lrsched.v1.SchedulerService/Step" > /dev/null
}
report() {  # report JOB RANK STEP VALUE
  "$buf" curl --protocol grpc --http2-prior-knowledge \
    --data "{\"job_id\": \"$1\", \"rank\": $2, \"step\": $3, \"value\": $4}" \
    "http://127.0.0.1:$plain_port/lrsched.v1.SchedulerService/ReportMetric" > /dev/null
}

step_spec='{"step_lr": {"step_size": 3}}'
expect 0 'job g2 created' create g2 --spec="$step_spec" --base_lrs=0.1,0.01

# ------------------------------------------------ the command line: exit 2
usage 'unknown subcommand' frobnicate
usage 'unknown flag --bogus' list --bogus
usage 'unknown flag --bogus' --bogus list
usage 'list takes no arguments' list extra
usage 'list does not take --factor' list --factor=2
usage 'list does not take --log_scale' list --nolog_scale
usage '\-\-page_size: must be 1 to 1000, got 0' list --page_size=0
usage '\-\-page_size: must be 1 to 1000, got 1001' list --page_size=1001
usage '\-\-page_size needs a value' list --page_size
usage "\-\-output: table or json, got 'yaml'" --output=yaml list
usage "\-\-output: table or json, got 'JSON'" --output=JSON list
usage '\-\-timeout: must be more than 0' --timeout=0s list
usage "\-\-timeout: 'abc'" --timeout=abc list
usage '\-\-tls_cert_file and \-\-tls_key_file go together' --tls_cert_file="$work/certs/client.pem" list
usage '\-\-tls_ca_file: cannot read' --tls_ca_file="$work/none.pem" list
usage '\-\-token_file: cannot read' --token_file="$work/none" list
# gRPC ends the process it is asked to send such metadata from.
printf 'caf\xc3\xa9\n' > "$work/odd.token"
usage '\-\-token_file: .* is not printable ASCII \(at 3 of the token\)' --token_file="$work/odd.token" list
usage 'get takes one JOB' get
usage 'get takes one JOB' get a b
usage 'get does not take \-\-spec' get g2 --spec=x
usage 'delete takes one JOB' delete
usage 'create: JOB is missing' create --spec="$step_spec"
usage 'create takes one JOB' create a b --spec="$step_spec"
usage 'create: \-\-spec \(or \-\-file\) is missing' create x
usage 'not a lrsched.v1.SchedulerSpec' create x --spec='not json'
usage 'not a lrsched.v1.SchedulerSpec' create x --spec=
usage "\-\-world_size: 'abc'" create x --spec="$step_spec" --world_size=abc
usage '\-\-world_size: must be 1 to 65536, got 0' create x --spec="$step_spec" --world_size=0
usage '\-\-world_size: must be 1 to 65536, got -2' create x --spec="$step_spec" --world_size=-2
usage "\-\-aggregation: MEAN, WEIGHTED_MEAN, MIN or MAX, got 'median'" \
  create x --spec="$step_spec" --aggregation=median
usage "got 'aggregation_unspecified'" create x --spec="$step_spec" --aggregation=aggregation_unspecified
usage '\-\-max_look_ahead: must be 0 to 100000, got -1' create x --spec="$step_spec" --max_look_ahead=-1
usage '\-\-base_lrs: no rate given' create x --spec="$step_spec" --base_lrs=
usage "\-\-base_lrs: 'abc' is not a number" create x --spec="$step_spec" --base_lrs=abc
usage "\-\-base_lrs: 'nan' is not a learning rate" create x --spec="$step_spec" --base_lrs=nan
usage "\-\-base_lrs: '-1' is not a learning rate" create x --spec="$step_spec" --base_lrs=0.1,-1
usage 'create does not take \-\-lr' create x --spec="$step_spec" --lr=0.1
usage '\-\-file: cannot read' create --file="$work/none.json"
usage 'set-lr takes one JOB' set-lr --lr=0.1
usage 'set-lr takes one JOB' set-lr g2 extra --lr=0.1,0.1
usage 'set-lr takes one JOB' set-lr g2 -- --lr=0.1,0.1
usage 'set-lr: give either \-\-lr or \-\-factor' set-lr g2
usage 'set-lr: give either \-\-lr or \-\-factor' set-lr g2 --lr=0.1,0.1 --factor=2
usage '\-\-lr: no rate given' set-lr g2 --lr=
usage "\-\-lr: '' is not a number" set-lr g2 --lr=0.1,
usage "\-\-lr: '1e400' is not a learning rate" set-lr g2 --lr=1e400,1
usage '\-\-factor: must be finite and at least 0, got -1' set-lr g2 --factor=-1
usage '\-\-factor: must be finite and at least 0, got nan' set-lr g2 --factor=nan
usage '\-\-factor: must be finite and at least 0, got inf' set-lr g2 --factor=inf
usage "\-\-factor: 'abc'" set-lr g2 --factor=abc
usage '\-\-scale_schedule goes with \-\-factor' set-lr g2 --lr=0.1,0.1 --scale_schedule
usage "\-\-scale_schedule: 'maybe'" set-lr g2 --factor=2 --scale_schedule=maybe
usage '\-\-step: must be 0 to 9007199254740990, got -1' set-lr g2 --factor=2 --step=-1
usage "\-\-step: '99999999999999999999'" set-lr g2 --factor=2 --step=99999999999999999999
usage 'set-lr does not take \-\-page_size' set-lr g2 --factor=2 --page_size=3
usage 'watch takes one JOB' watch
usage '\-\-from: must be at least 0, got -1' watch g2 --from=-1
usage "\-\-from: 'abc'" watch g2 --from=abc
usage 'preview: \-\-spec is missing' preview
usage 'preview takes flags only' preview x --spec="$step_spec"
usage '\-\-steps: must be 1 to 10000000, got 0' preview --spec="$step_spec" --steps=0
usage '\-\-steps: must be 1 to 10000000, got 10000001' preview --spec="$step_spec" --steps=10000001
usage "\-\-metrics: 'a' is not a number" preview --spec="$step_spec" --metrics=a
usage '\-\-plot: cannot write' preview --spec="$step_spec" --plot="$work/none/x.svg"
usage 'preview does not take \-\-out' preview --spec="$step_spec" --out=x.svg
usage 'plot takes one JOB' plot
usage '\-\-steps: must be 1 to 10000000, got 0' plot g2 --steps=0 --out="$work/g.svg"
usage '\-\-epoch_log: cannot read' plot g2 --epoch_log="$work/none.csv" --out="$work/g.svg"
usage '\-\-out: cannot write' plot g2 --out="$work/none/g.svg"

# `--flag value` is `--flag=value`, and the flags may come before the subcommand.
expect 0 '^JOB ' --output table list
expect 0 '"job_id": "g2"' list --output json
# A job id that starts with '-' is the server's to refuse, after `--`.
expect 1 "job_id: must not start with '.' or '-'" create --spec="$step_spec" -- -dash

# --help: the usage, exit 0, whatever else is on the line.
expect 0 '^usage: lrschedctl .* set-lr JOB' set-lr --help
expect 0 '^lrschedctl: lrsched from the command line' --help

# ------------------------------------------------ refusals: exit 1
expect 1 'job nope does not exist \(NOT_FOUND from GetJob\)' get nope
expect 1 'job nope does not exist \(NOT_FOUND from DeleteJob\)' delete nope
expect 1 'job nope does not exist' set-lr nope --lr=0.1
expect 1 'job nope does not exist' plot nope --out="$work/nope.svg"
expect 1 'job nope does not exist \(NOT_FOUND from WatchJob\)' --timeout=2s watch nope
expect 1 'spec: must set exactly one scheduler' create x --spec='{}'
expect 1 'the schedule takes no metric' preview --spec="$step_spec" --steps=3 --metrics=1,2,3
# set-lr needs the job to count its groups: one rate for two groups is refused.
expect 2 'job g2 has 2 parameter groups: give one rate for each \(\-\-lr=0.2,0.2\)' \
  set-lr g2 --lr=0.2

# ------------------------------------------------ unreachable: exit 3
expect 3 "cannot reach the lrsched server at 127.0.0.1:$refused_port: nothing listens there \(connection refused\)" \
  --server="127.0.0.1:$refused_port" --timeout=1s list
expect 3 'the name no-such-host.invalid does not resolve' \
  --server=no-such-host.invalid:50051 --timeout=1s list
expect 3 "the server at 127.0.0.1:$silent_port did not answer ListJobs" \
  --server="127.0.0.1:$silent_port" --timeout=2s list
# Well under the 10 s default, with room for a loaded machine.
[ "$took" -le 7 ] || fail "--timeout=2s against a silent server took ${took}s"
expect 3 "127.0.0.1:$refused_port" --server="127.0.0.1:$refused_port" --timeout=1s get g2
expect 3 "127.0.0.1:$refused_port" --server="127.0.0.1:$refused_port" --timeout=1s set-lr g2 --factor=2
expect 3 "127.0.0.1:$refused_port" --server="127.0.0.1:$refused_port" --timeout=1s watch g2
expect 3 "127.0.0.1:$refused_port" --server="127.0.0.1:$refused_port" --timeout=1s \
  plot g2 --out="$work/g.svg"
# TLS: verified with its CA, it answers.
expect 0 '^JOB ' --server="127.0.0.1:$tls_port" --tls_ca_file="$work/certs/ca.pem" list

# ------------------------------------------------ --output=json: proto field names
# (The API's JSON shows decided_step and last_step as the server holds them,
# the endless step included, as grpcurl does.)
json_check() {
  expect 0 '.' --output=json "$@"
  json_names "$*"
}
json_check get g2
json_check list
json_check preview --spec="$step_spec" --steps=2
json_check set-lr g2 --factor=0.5 --step=7
# watch follows the job: stopped after its history.
timeout 3 env LRSCHED_SERVER="127.0.0.1:$plain_port" "$ctl_binary" --output=json watch g2 \
  > "$work/out" 2>&1 || true
out=$(cat "$work/out")
json_names "watch g2"

# ------------------------------------------------ set-lr's explanations
# Stacked overrides: said before the second is added.
expect 0 'job g2: learning rates x 2 from step 7' set-lr g2 --factor=2 --step=7
grep -q '^note: step 7 already has 1 override (learning rates x 0.5); overrides of one step apply in the order they were made, this one last$' <<< "$out" ||
  fail "set-lr did not say the override stacks: $out"

# A plateau job: the override lands on the first step not handed out yet.
expect 0 'created' create p --spec='{"reduce_lr_on_plateau": {"patience": 1}}' --world_size=2
step p 0 0 1000
step p 1 0 1000
expect 0 '^job p: learning rate 0.05 from step 1$' set-lr p --lr=0.05
expect 0 '^  \(asked for step 0; the values up to step 0 had already been handed out to the workers\)$' \
  set-lr p --lr=0.04 --step=0
report p 0 0 1.0
report p 1 0 1.0
expect 0 '^job p: learning rates x 0.5 from step 2$' set-lr p --factor=0.5
expect 0 'decided steps:    up to 1$' get p
no_sentinel

# A cosine job with --max_look_ahead=1: the override lands after the step
# handed out ahead, and set-lr says why.
expect 0 'created' create cm --spec='{"cosine_annealing_lr": {"t_max": 12}}' --max_look_ahead=1
step cm 0 0 1000
expect 0 'max look-ahead:   1 ' get cm
expect 0 '^job cm: learning rate 0.01 from step 2$' set-lr cm --lr=0.01
expect 0 '^  \(asked for step 1; the values up to step 1 had already been handed out to the workers\)$' \
  set-lr cm --lr=0.02 --step=1
# No look-ahead cap: the clients' 1000 steps ahead, explained.
expect 0 'created' create cos --spec='{"cosine_annealing_lr": {"t_max": 12}}'
step cos 0 0 1000
expect 0 '^job cos: learning rate 0.01 from step 1001$' set-lr cos --lr=0.01
grep -q 'A smaller$' <<< "$out" || grep -q 'max_look_ahead at CreateJob makes overrides take' <<< "$out" ||
  fail "set-lr cos did not explain the late step: $out"

# ------------------------------------------------ plot's step range
expect 0 "wrote $work/cos.svg: 1 step, 0 metrics" plot cos --out="$work/cos.svg"
expect 0 "wrote $work/cos.svg: 5 steps" plot cos --steps=5 --out="$work/cos.svg"
step cos 0 3 1000
expect 0 "wrote $work/cos.svg: 4 steps" plot cos --out="$work/cos.svg"
expect 0 "wrote $work/p.svg: 1 step, 1 metric" plot p --out="$work/p.svg"

# ------------------------------------------------ DEFECTS (LRSCHEDCTL_CHECK_DEFECTS=1)
# Checks of more than one command.
explains_nothing_when_on_time() {
  expect 0 '^job cm: learning rate 0.03 from step 100$' set-lr cm --lr=0.03 --step=100
  if grep -q 'hold the values ahead' <<< "$out"; then
    fail "set-lr --step=100 explained a lateness that is not there: $out"
  fi
}
refuses_endless_step() {
  # The refusal may echo the value given; nothing else shows it.
  usage '\-\-step: must be 0 to 9007199254740990' set-lr g2 --factor=2 --step=9007199254740991
  usage '\-\-step' set-lr g2 --factor=2 --step=9007199254740992
}
tls_mistake_said() {  # tls_mistake_said PATTERN ARGS...
  local pattern=$1
  shift
  expect 3 "$pattern" --timeout=2s "$@"
  if grep -q 'ssl_transport_security' <<< "$out"; then fail "gRPC's log lines: $out"; fi
}
reserved_is_not_held() {
  expect 0 'created' create c2 --spec='{"cosine_annealing_lr": {"t_max": 12}}'
  step c2 0 0 2
  expect 0 'from step' set-lr c2 --lr=0.01
  if tr -s '\n ' '  ' <<< "$out" | grep -q 'as many steps ahead as a worker asks for'; then
    fail "set-lr c2 said the worker holds what it never asked for: $out"
  fi
}

defect explicit-step-explained \
  "set-lr --step=N that takes effect at N, as asked, explains nothing (it says the workers hold values up to N-1)" \
  explains_nothing_when_on_time
defect endless-step \
  "set-lr --step above the last servable step is refused by lrschedctl (exit 2); the internal step is never printed" \
  refuses_endless_step
defect server-without-port \
  "--server=HOST without :PORT is a command-line mistake (exit 2 naming --server), not 10s of DEADLINE_EXCEEDED at port 443" \
  usage '\-\-server' --server=localhost --timeout=2s list
defect server-bad-port \
  "--server=HOST:99999 is not a port: exit 2 naming --server, not 'connection refused'" \
  usage '\-\-server' --server=127.0.0.1:99999 --timeout=2s list
defect tls-server-in-plaintext \
  "a TLS server dialled in plaintext: say it speaks TLS (--tls_ca_file), not 'Deadline Exceeded'" \
  tls_mistake_said 'TLS' --server="127.0.0.1:$tls_port" list
defect tls-verify-failed \
  "a certificate that does not verify: say so in one line, without gRPC's internal log lines" \
  tls_mistake_said 'certificate' --server="127.0.0.1:$tls_port" \
  --tls_ca_file="$work/certs/other-ca.pem" list
defect plaintext-server-with-tls \
  "a plaintext server dialled with TLS: say it does not speak TLS, without gRPC's internal log lines" \
  tls_mistake_said 'TLS' --tls_ca_file="$work/certs/ca.pem" list
defect look-ahead-grammar "get says 'max look-ahead:   1 step'" \
  expect 0 'max look-ahead:   1 step$' get cm
defect reserved-not-asked \
  "a worker that asked 2 steps ahead does not hold values up to step 999: set-lr must not say so" \
  reserved_is_not_held
defect preview-receive-limit \
  "preview --steps=1000000 (within its 1 to 10000000) is received, or refused before sending: not 'Received message larger than max' as if the server refused" \
  expect 0 '^1000000 ' preview --spec="$step_spec" --steps=1000000
defect subcommand-help-anywhere "lrschedctl set-lr JOB --help prints set-lr's usage" \
  expect 0 '^usage: lrschedctl .* set-lr JOB' set-lr g2 --help
defect short-help "lrschedctl -h prints the usage and exits 0 (set-lr -h does)" \
  expect 0 '^lrschedctl: lrsched from the command line' -h
defect parse-error-rule \
  "a value that does not parse says the rule (a duration such as 10s) and the subcommand's --help" \
  expect 2 'lrschedctl list \-\-help' list --timeout=5
defect hex-rate "--lr=0x10 is not a learning rate a person means: refused" \
  usage '\-\-lr' set-lr g2 --lr=0x10,1
defect tls-server-name-alone "--tls_server_name without TLS is a mistake: exit 2" \
  usage '\-\-tls_server_name' --tls_server_name=foo list
defect plot-out-directory \
  "plot --out=DIRECTORY is refused before the job is fetched (now only after: exit 3 when the server is away)" \
  usage '\-\-out: cannot write' plot g2 --out="$work"
defect plot-past-handed-out \
  "plot --steps beyond the handed-out steps says where it stopped and why" \
  expect 0 'handed out' plot cos --steps=5000 --out="$work/cos.svg"

if [ "$failures" -gt 0 ]; then
  echo "lrschedctl_adversarial_test: $failures check(s) failed" >&2
  exit 1
fi
if [ "$check_defects" = 1 ]; then
  echo "lrschedctl_adversarial_test: every check passed, the $defects DEFECT checks included"
else
  echo "lrschedctl_adversarial_test: every check passed ($defects DEFECT checks skipped;" \
       "LRSCHEDCTL_CHECK_DEFECTS=1 runs them)"
fi
