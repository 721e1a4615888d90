#!/usr/bin/env bash
# Inspects a running lrsched-server with an independent client, `buf curl`
# (npm @bufbuild/buf), through server reflection: lists the services, calls
# CreateJob, Step and GetJob with JSON bodies, and the gRPC health check.
#
# Usage: buf_curl_test.sh SERVER_BINARY BUF_BINARY
set -euo pipefail
server_binary=$1
buf=$2
if [ ! -x "$buf" ]; then
  echo "buf_curl_test: $buf is missing; 'make test' installs it (npm @bufbuild/buf)" >&2
  exit 1
fi

work=$(mktemp -d)
server_pid=""
cleanup() {
  [ -n "$server_pid" ] && kill -9 "$server_pid" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

source "$(dirname "$0")/../testing/start_server.sh"
start_server "$server_binary" "$work/server.log"
url="http://127.0.0.1:$port"

call() {  # call SERVICE/METHOD JSON
  "$buf" curl --protocol grpc --http2-prior-knowledge --data "$2" "$url/$1"
}
# expect FILE JAVASCRIPT-CONDITION-ON-j
expect() {
  node -e '
    const j = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
    if (!(eval(process.argv[2]))) {
      console.error("expected " + process.argv[2] + " in " + JSON.stringify(j));
      process.exit(1);
    }' "$1" "$2"
}

"$buf" curl --protocol grpc --http2-prior-knowledge --list-services "$url" > "$work/services"
grep -qx 'lrsched.v1.SchedulerService' "$work/services"
grep -qx 'grpc.health.v1.Health' "$work/services"
"$buf" curl --protocol grpc --http2-prior-knowledge --list-methods "$url" > "$work/methods"
for method in CreateJob GetJob ListJobs DeleteJob Step ReportMetric SetLearningRate \
              SetWorldSize WatchJob PreviewSchedule; do
  grep -qx "lrsched.v1.SchedulerService/$method" "$work/methods"
done
# Every listed service resolves through reflection, the reflection service's
# own included, as grpcurl's describe with no argument needs.
grep -qx 'grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo' "$work/methods"
grep -qx 'grpc.health.v1.Health/Check' "$work/methods"

call lrsched.v1.SchedulerService/CreateJob '{
  "job_id": "inspect", "base_lrs": [0.1], "world_size": 1,
  "spec": {"sequential_lr": {
    "schedulers": [{"linear_lr": {"start_factor": 0.5, "total_iters": 2}},
                   {"cosine_annealing_lr": {"t_max": 10}}],
    "milestones": [2]}}}' > "$work/created"
expect "$work/created" 'j.jobId === "inspect" && j.baseLrs[0] === 0.1'

call lrsched.v1.SchedulerService/Step '{"job_id": "inspect", "rank": 0, "step": 0, "look_ahead": 3}' \
  > "$work/step"
expect "$work/step" 'j.values.length === 4 && j.values[0].lrs[0] === 0.05 && j.values[2].lrs[0] === 0.1'

call lrsched.v1.SchedulerService/GetJob '{"job_id": "inspect"}' > "$work/job"
expect "$work/job" 'j.jobId === "inspect" && Number(j.handedOutStep) >= 3'

call grpc.health.v1.Health/Check '{"service": ""}' > "$work/health"
expect "$work/health" 'j.status === "SERVING"'

kill -TERM "$server_pid"
wait "$server_pid"
server_pid=""
echo "buf curl inspected lrsched-server: services, CreateJob, Step, GetJob, health"
