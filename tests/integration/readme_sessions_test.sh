#!/usr/bin/env bash
# The README's terminal sessions, re-run against a real server: every
# `$ lrschedctl ...` and `$ grpcurl ...` of the ```console blocks in the
# sections "Inspecting it with grpcurl" and "lrschedctl: operating it from a
# terminal" must exit 0 and print what the README shows under it. The README
# is read as it stands (not a copy), so a command that stops working or an
# output that drifts fails here.
#
# What the sessions are about, made as the README says:
#   - the lrschedctl session is "a 2-rank training run with
#     ReduceLROnPlateau": mpirun -np 2 lrsched-trainer --job=train
#     --epochs=15 --noise=3 --spec='{"reduce_lr_on_plateau": {"patience": 2,
#     "factor": 0.5}}' (the trainer's data and weights are seeded, so the
#     metrics and reductions come out as the README shows them);
#   - `cos`, which the README names without creating: a CosineAnnealingLR job
#     of one parameter group whose one worker has asked for step 0 with the
#     clients' look-ahead of 1000, made just before the command that names it.
# The commands run as written, with bash: lrschedctl finds the server through
# LRSCHED_SERVER, and grpcurl (not installed) is a stand-in that makes the
# same call with buf curl against the test server, whatever address it names.
#
# How what a command prints is compared with the README (stdout and stderr
# together, as a terminal shows them; trailing spaces ignored):
#   - lrschedctl: line by line, after masking in both what was printed and
#     what the README shows: timestamps (2026-12-02T18:37:36.762...) and the
#     bytes stored of `get` ("events: 62 (<n> bytes stored)"), which change
#     from run to run; consecutive `report:` lines of one step are put in rank
#     order (the ranks report concurrently) keeping their sequence numbers. A
#     README line `...` stands for one or more lines left out.
#   - lrschedctl watch: runs in the background, as it follows the job. What
#     the README shows under it is matched against the start of what it
#     printed until the next command; lines in watch's shape (sequence, time)
#     that the README shows under a later command of the same block are what
#     the watch must print next, after that command.
#   - grpcurl: a call's answer is compared as JSON values (layout, key order
#     and field-name style, job_id or jobId, ignored; timestamps masked);
#     `list` as a set of names; `describe` line by line with runs of spaces
#     squeezed.
#
# Usage: readme_sessions_test.sh LRSCHEDCTL SERVER_BINARY TRAINER BUF [README]
#   README defaults to $LRSCHED_README, else the repository's README.md; a
#   changed copy shows that drift is caught. $MPIEXEC (default mpirun)
#   launches the ranks.
set -euo pipefail
ctl_binary=$1
server_binary=$2
trainer=$3
buf=$4
here=$(cd "$(dirname "$0")" && pwd)
readme=${5:-${LRSCHED_README:-$here/../../README.md}}
if [ ! -x "$buf" ]; then
  echo "readme_sessions_test: $buf is missing; 'make test' installs it (npm @bufbuild/buf)" >&2
  exit 1
fi

work=$(mktemp -d)
server_pid=""
source "$here/../testing/start_server.sh"
cleanup() {
  stop_server
  rm -rf "$work"
}
trap cleanup EXIT

# The commands find `lrschedctl` and `grpcurl` on the PATH, as a reader's shell does.
mkdir "$work/bin"
ln -s "$(cd "$(dirname "$ctl_binary")" && pwd)/$(basename "$ctl_binary")" "$work/bin/lrschedctl"
cat > "$work/bin/grpcurl" <<EOF
#!/usr/bin/env bash
exec node "$here/readme_sessions.cjs" grpcurl "\$@"
EOF
chmod +x "$work/bin/grpcurl"
export PATH="$work/bin:$PATH" BUF="$buf"
# use_server: the commands from now on find the server started last.
use_server() {
  export LRSCHED_SERVER="127.0.0.1:$port" README_SERVER="127.0.0.1:$port"
}
failed=0

# Each section on a server of its own: neither session shows the other's jobs.
start_server "$server_binary" "$work/grpcurl_server.log"
use_server
node "$here/readme_sessions.cjs" check "$readme" --section 'Inspecting it with grpcurl' ||
  failed=1
stop_server

start_server "$server_binary" "$work/lrschedctl_server.log"
use_server
# mpirun refuses root unless told; a machine with fewer cores than ranks
# needs oversubscription (as deploy/demo.sh runs it).
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
# Under the sanitizers, the trainer's own options (MPI and gRPC leave memory
# to the exit, as the benches note); the server keeps its leak checks.
if ! env ${TRAINER_ASAN_OPTIONS:+ASAN_OPTIONS=$TRAINER_ASAN_OPTIONS} \
       "${MPIEXEC:-mpirun}" --oversubscribe --bind-to none -np 2 "$trainer" --server="127.0.0.1:$port" \
       --job=train --epochs=15 --noise=3 \
       --spec='{"reduce_lr_on_plateau": {"patience": 2, "factor": 0.5}}' > "$work/train.log" 2>&1
then
  cat "$work/train.log" >&2
  echo "readme_sessions_test: the training run failed" >&2
  exit 1
fi
step_cos='{"job_id": "cos", "rank": 0, "step": 0, "look_ahead": 1000}'
node "$here/readme_sessions.cjs" check "$readme" \
  --section 'lrschedctl: operating it from a terminal' \
  --before 'lrschedctl set-lr cos' \
  "lrschedctl create cos --spec='{\"cosine_annealing_lr\": {\"t_max\": 100}}' > /dev/null &&
   '$buf' curl --protocol grpc --http2-prior-knowledge --data '$step_cos' \
     http://127.0.0.1:$port/lrsched.v1.SchedulerService/Step > /dev/null" || failed=1
exit "$failed"
