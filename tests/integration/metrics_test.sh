#!/usr/bin/env bash
# lrsched-server's Prometheus endpoint, scraped with a plain HTTP client
# (Node.js's http): the expected series are there, and they move when calls
# are made: calls by method and code, jobs by scheduler, a parked Step, a
# report waiting for the other worker, group commits; with --metrics_per_job,
# each job's learning rate.
#
# Usage: metrics_test.sh SERVER_BINARY BUF_BINARY
set -euo pipefail
server_binary=$1
buf=$2
work=$(mktemp -d)
server_pid=""
step_pid=""
source "$(dirname "$0")/../testing/start_server.sh"
cleanup() {
  [ -n "$step_pid" ] && kill "$step_pid" 2>/dev/null || true
  stop_server
  rm -rf "$work"
}
trap cleanup EXIT
fail() {
  echo "metrics_test: $*" >&2
  exit 1
}
metrics_port=$(node -e 'const s = require("net").createServer().listen(0, "127.0.0.1", () => {
  console.log(s.address().port); s.close(); });')
start_server "$server_binary" "$work/server.log" --state="$work/state.db" \
  --metrics_listen="127.0.0.1:$metrics_port" --metrics_per_job
call() {
  "$buf" curl --protocol grpc --http2-prior-knowledge --data "$2" \
    "http://127.0.0.1:$port/$1" > /dev/null
}
scrape() {  # scrape FILE: the endpoint's text, with HTTP status 200
  node -e '
    require("http").get(process.argv[1], (response) => {
      let body = "";
      response.on("data", (d) => body += d);
      response.on("end", () => {
        if (response.statusCode !== 200) { console.error(response.statusCode); process.exit(1); }
        require("fs").writeFileSync(process.argv[2], body);
      });
    }).on("error", (e) => { console.error(e.message); process.exit(1); });
  ' "http://127.0.0.1:$metrics_port/metrics" "$1" || fail "cannot scrape the endpoint"
}
value() {  # value FILE SERIES: the sample's value, or "none"
  awk -v series="$2" '$1 == series { print $2; found = 1 } END { if (!found) print "none" }' "$1"
}
expect() {  # expect FILE SERIES VALUE
  local got
  got=$(value "$1" "$2")
  [ "$got" = "$3" ] || { grep -v '^#' "$1" >&2; fail "$2 is $got, not $3"; }
}

scrape "$work/before"
for family in lrsched_rpc_duration_seconds lrsched_rpcs_total lrsched_jobs \
              lrsched_parked_steps lrsched_pending_reports lrsched_store_commit_seconds \
              lrsched_store_commit_operations lrsched_recovery_seconds lrsched_auth_enabled; do
  grep -q "^# TYPE $family " "$work/before" || fail "no $family in the first scrape"
done
expect "$work/before" lrsched_parked_steps 0
expect "$work/before" lrsched_auth_enabled 0
expect "$work/before" lrsched_store_commit_seconds_count 0

call lrsched.v1.SchedulerService/CreateJob \
  '{"job_id": "p", "base_lrs": [0.1], "world_size": 2, "spec": {"reduce_lr_on_plateau": {}}}'
call lrsched.v1.SchedulerService/CreateJob \
  '{"job_id": "c", "base_lrs": [0.2], "spec": {"cosine_annealing_lr": {"t_max": 10}}}'
"$buf" curl --protocol grpc --http2-prior-knowledge --data '{"job_id": "nope"}' \
  "http://127.0.0.1:$port/lrsched.v1.SchedulerService/GetJob" > /dev/null 2>&1 || true
# Rank 0 reports step 0 and waits for step 1, which needs rank 1's report.
call lrsched.v1.SchedulerService/ReportMetric '{"job_id": "p", "rank": 0, "step": 0, "value": 1}'
"$buf" curl --protocol grpc --http2-prior-knowledge --timeout 30s \
  --data '{"job_id": "p", "rank": 0, "step": 1}' \
  "http://127.0.0.1:$port/lrsched.v1.SchedulerService/Step" > "$work/step.out" 2>&1 &
step_pid=$!
for _ in $(seq 1 500); do
  scrape "$work/parked"
  [ "$(value "$work/parked" lrsched_parked_steps)" = 1 ] && break
  sleep 0.01
done

expect "$work/parked" lrsched_parked_steps 1
expect "$work/parked" lrsched_pending_reports 1
expect "$work/parked" 'lrsched_jobs{scheduler="ReduceLROnPlateau"}' 1
expect "$work/parked" 'lrsched_jobs{scheduler="CosineAnnealingLR"}' 1
expect "$work/parked" \
  'lrsched_rpcs_total{method="/lrsched.v1.SchedulerService/CreateJob",code="OK"}' 2
expect "$work/parked" \
  'lrsched_rpcs_total{method="/lrsched.v1.SchedulerService/GetJob",code="NOT_FOUND"}' 1
expect "$work/parked" 'lrsched_job_learning_rate{job="c",group="0"}' 0.2
commits=$(value "$work/parked" lrsched_store_commit_seconds_count)
[ "$commits" != none ] && [ "$commits" -ge 3 ] || fail "$commits group commits, not 3 or more"
grep -q '^lrsched_rpc_duration_seconds_bucket{method="/lrsched.v1.SchedulerService/CreateJob",code="OK",le="+Inf"} 2$' \
  "$work/parked" || fail "no latency histogram of CreateJob"

# Rank 1's report decides step 1: the parked Step is answered.
call lrsched.v1.SchedulerService/ReportMetric '{"job_id": "p", "rank": 1, "step": 0, "value": 1}'
wait "$step_pid" || fail "the parked Step failed: $(cat "$work/step.out")"
step_pid=""
scrape "$work/after"
expect "$work/after" lrsched_parked_steps 0
expect "$work/after" lrsched_pending_reports 0
expect "$work/after" \
  'lrsched_rpcs_total{method="/lrsched.v1.SchedulerService/Step",code="OK"}' 1
expect "$work/after" \
  'lrsched_rpcs_total{method="/lrsched.v1.SchedulerService/ReportMetric",code="OK"}' 2
echo "metrics_test: every series there, and each moved with the calls"
