#!/usr/bin/env bash
# lrsched-server's log: with --log_format=json every stderr line is a JSON
# object, and a job's life shows as job_created, learning_rate_reduced,
# override_scheduled and job_deleted with the job and step, between
# server_started (with the effective configuration, then a warning when
# anyone may call: auth_disabled) and server_stopped; the
# text format carries the same; --log_level=error keeps them out; an unknown
# format is refused. SIGTERM with a job open and a Step parked on it logs one
# summary line (server_stopped with the jobs closed and the Steps ended), not
# an error line per job.
#
# Usage: server_log_test.sh SERVER_BINARY LRSCHEDCTL BUF_BINARY
set -euo pipefail
server_binary=$1
ctl_binary=$2
buf=$3
work=$(mktemp -d)
server_pid=""
source "$(dirname "$0")/../testing/start_server.sh"
cleanup() {
  stop_server
  rm -rf "$work"
}
trap cleanup EXIT
fail() {
  echo "server_log_test: $*" >&2
  exit 1
}

run() {  # run NAME FLAGS...: a job's life on a server logging to $work/NAME.log
  local name=$1
  shift
  "$server_binary" --listen=127.0.0.1:0 --state="$work/$name.db" "$@" \
    > "$work/$name.out" 2> "$work/$name.log" &
  server_pid=$!
  for _ in $(seq 1 500); do
    grep -q '(port [0-9]*)' "$work/$name.out" 2>/dev/null && break
    sleep 0.01
  done
  local port
  port=$(sed -n 's/.*(port \([0-9]*\)).*/\1/p' "$work/$name.out")
  [ -n "$port" ] || fail "the server did not start: $(cat "$work/$name.log")"
  local ctl=("$ctl_binary" --server="127.0.0.1:$port")
  "${ctl[@]}" create p --spec='{"reduce_lr_on_plateau": {"patience": 0}}' --base_lrs=0.1 \
    > /dev/null
  for step in 0 1; do
    "$buf" curl --protocol grpc --http2-prior-knowledge \
      --data "{\"job_id\": \"p\", \"step\": $step, \"value\": 1}" \
      "http://127.0.0.1:$port/lrsched.v1.SchedulerService/ReportMetric" > /dev/null
  done
  "${ctl[@]}" set-lr p --factor=0.5 > /dev/null
  "${ctl[@]}" delete p > /dev/null
  kill -TERM "$server_pid"
  wait "$server_pid" || fail "the server exited $?"
  server_pid=""
}

run json --log_format=json
node -e '
  const lines = require("fs").readFileSync(process.argv[1], "utf8").trim().split("\n");
  const events = lines.map((line) => JSON.parse(line));
  const names = events.map((e) => e.event).join(" ");
  const want = "server_started auth_disabled job_created learning_rate_reduced " +
               "override_scheduled job_deleted server_stopping server_stopped";
  if (names !== want) throw new Error("events: " + names);
  const by = Object.fromEntries(events.map((e) => [e.event, e]));
  const check = (ok, what) => { if (!ok) throw new Error(what + ": " + JSON.stringify(by)); };
  check(by.server_started.port > 0 && by.server_started.sync === "full" &&
        by.server_started.recovered_jobs === 0, "server_started");
  check(by.job_created.job === "p" && by.job_created.scheduler === "ReduceLROnPlateau" &&
        by.job_created.base_lrs[0] === 0.1, "job_created");
  check(by.learning_rate_reduced.job === "p" && by.learning_rate_reduced.step === 2 &&
        by.learning_rate_reduced.lrs[0] === 0.1 * 0.1, "learning_rate_reduced");
  check(by.override_scheduled.step === 3 && by.override_scheduled.factor === 0.5,
        "override_scheduled");
  check(by.auth_disabled.level === "warning" && /anyone/.test(by.auth_disabled.warning),
        "auth_disabled");
  check(events.every((e) => (e.level === "info" || e.event === "auth_disabled") &&
                            /^\d{4}-\d\d-\d\dT/.test(e.time)), "time");
' "$work/json.log" || { cat "$work/json.log" >&2; fail "the JSON log is not as expected"; }

run text
grep -Eq '^[0-9T:.-]+Z info learning_rate_reduced job=p step=2 metric=1 lrs=0.010000000000000002$' \
  "$work/text.log" || { cat "$work/text.log" >&2; fail "the text log has no reduction line"; }
grep -q ' info job_deleted job=p$' "$work/text.log" || fail "the text log has no deletion"

# The drain: job q stays open, and a Step waits on it for a metric.
"$server_binary" --listen=127.0.0.1:0 --state="$work/drain.db" > "$work/drain.out" \
  2> "$work/drain.log" &
server_pid=$!
for _ in $(seq 1 500); do
  grep -q '(port [0-9]*)' "$work/drain.out" 2>/dev/null && break
  sleep 0.01
done
port=$(sed -n 's/.*(port \([0-9]*\)).*/\1/p' "$work/drain.out")
[ -n "$port" ] || fail "the server did not start: $(cat "$work/drain.log")"
"$ctl_binary" --server="127.0.0.1:$port" create q \
  --spec='{"reduce_lr_on_plateau": {"patience": 0}}' --base_lrs=0.1 > /dev/null
"$buf" curl --protocol grpc --http2-prior-knowledge --data '{"job_id": "q", "step": 1}' \
  "http://127.0.0.1:$port/lrsched.v1.SchedulerService/Step" > "$work/step.out" 2>&1 &
step_pid=$!
for _ in $(seq 1 500); do
  "$ctl_binary" --server="127.0.0.1:$port" get q | grep -q 'waiting Steps: *1$' && break
  sleep 0.01
done
kill -TERM "$server_pid"
wait "$server_pid" || fail "the server exited $?"
server_pid=""
wait "$step_pid" || true
grep -qi 'unavailable' "$work/step.out" || fail "the parked Step did not end UNAVAILABLE: $(cat "$work/step.out")"
grep -Eq ' info server_stopped jobs_closed=1 steps_ended=1 calls_ended=0 drain_seconds=[0-9.e-]+$' \
  "$work/drain.log" || { cat "$work/drain.log" >&2; fail "no drain summary"; }
if grep -q 'job_closed' "$work/drain.log"; then
  cat "$work/drain.log" >&2
  fail "the drain logged a job_closed line"
fi

run quiet --log_level=error
[ ! -s "$work/quiet.log" ] || { cat "$work/quiet.log" >&2; fail "--log_level=error logged"; }

if "$server_binary" --listen=127.0.0.1:0 --state=:memory: --log_format=xml \
     > /dev/null 2> "$work/bad.log"; then
  fail "--log_format=xml was accepted"
fi
grep -q 'log_format must be text or json' "$work/bad.log" || fail "no reason for refusing xml"
echo "server_log_test: both formats carry a job's life; one line sums up the drain; error level and bad format as expected"
