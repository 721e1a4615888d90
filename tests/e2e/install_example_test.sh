#!/usr/bin/env bash
# Installs lrsched's client package into a temporary prefix, builds the
# out-of-tree example in client/examples with find_package(lrsched) against
# it, and runs the example against a real server.
#
# Usage: install_example_test.sh BUILD_DIR SOURCE_DIR SERVER_BINARY
set -euo pipefail
build_dir=$1
source_dir=$2
server_binary=$3

work=$(mktemp -d)
server_pid=""
cleanup() {
  [ -n "$server_pid" ] && kill -9 "$server_pid" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

cmake --install "$build_dir" --prefix "$work/prefix" > "$work/install.log"
test -f "$work/prefix/lib/cmake/lrsched/lrschedConfig.cmake"
test -f "$work/prefix/include/lrsched/worker_schedule.h"
cmake -S "$source_dir/client/examples" -B "$work/example" -G Ninja \
  -DCMAKE_PREFIX_PATH="$work/prefix" > "$work/configure.log"
cmake --build "$work/example" > "$work/build.log"

source "$(dirname "$0")/../testing/start_server.sh"
start_server "$server_binary" "$work/server.log"

"$work/example/lrsched_example" "127.0.0.1:$port" | tee "$work/example.log"
# The loss stops improving after epoch 3; with patience 1 the metrics of
# epochs 4 and 5 halve the rate of epoch 6, those of 6 and 7 that of epoch 8.
grep -q '^epoch 5 lr 0.1 ' "$work/example.log"
grep -q '^epoch 6 lr 0.05 ' "$work/example.log"
grep -q '^epoch 8 lr 0.025 ' "$work/example.log"
echo "the installed package built and ran the example"
