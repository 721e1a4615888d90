#!/usr/bin/env bash
# Renders the sidecar overlay and starts its server as the manifest says
# (sidecar_launch_test.cjs); then the same with two negative samples, which
# must fail: a flag the server refuses, and a drain longer than the grace
# period.
#
# Usage: sidecar_launch_test.sh SOURCE_DIR BIN_DIR TOOLS_DIR
set -euo pipefail
source_dir=$(cd "$1" && pwd)
bin_dir=$2
tools_dir=$3
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
source "$source_dir/tests/deploy/kustomize.sh"

launch() {
  node "$source_dir/tests/deploy/sidecar_launch_test.cjs" "$1" "$bin_dir" \
    "$source_dir/deploy/docker" "$tools_dir"
}

kustomize_render "$source_dir/deploy/k8s/overlays/sidecar" > "$work/sidecar.yaml"
launch "$work/sidecar.yaml"

for sample in bad-flag:'exited with 2 before SERVING' \
              slow-drain:'which is not shorter than the pod'; do
  name=${sample%%:*}
  pattern=${sample#*:}
  kustomize_render "$source_dir/tests/deploy/negative/$name" > "$work/$name.yaml"
  if launch "$work/$name.yaml" > "$work/$name.out" 2>&1; then
    cat "$work/$name.out" >&2
    echo "sidecar_launch_test: the negative sample $name passed" >&2
    exit 1
  fi
  grep -q -- "$pattern" "$work/$name.out" || {
    cat "$work/$name.out" >&2
    echo "sidecar_launch_test: the negative sample $name failed without '$pattern'" >&2
    exit 1
  }
  echo "negative sample $name: rejected as expected ($pattern)"
done
