#!/usr/bin/env bash
# Renders the ha overlay and runs it on this machine as its manifests say
# (ha_launch_test.cjs): three etcd members that must form one cluster, and
# the server's replicas, whose leader must hand over on SIGTERM. Then the
# same with three negative samples, which must fail: etcd scaled past its
# --initial-cluster, LRSCHED_STATE next to LRSCHED_STORE, and TLS on the
# replicas (which the server refuses with an etcd store, for now), with
# certificates made by openssl here (tests/testing/make_certs.sh).
#
# Usage: ha_launch_test.sh SOURCE_DIR BIN_DIR TOOLS_DIR LRSCHEDCTL
set -euo pipefail
source_dir=$(cd "$1" && pwd)
bin_dir=$2
tools_dir=$3
lrschedctl=$4
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
source "$source_dir/tests/deploy/kustomize.sh"
"$source_dir/tests/testing/make_certs.sh" "$work/certs" > /dev/null

launch() {
  node "$source_dir/tests/deploy/ha_launch_test.cjs" "$1" "$bin_dir" "$tools_dir" \
    "$source_dir/proto" "$lrschedctl" "$work/certs"
}

kustomize_render "$source_dir/deploy/k8s/overlays/ha" > "$work/ha.yaml"
launch "$work/ha.yaml"

for sample in ha-etcd-members:'lrsched-etcd-3 exited with 1 before Ready' \
              ha-sqlite-habits:'give --store or --state, not both' \
              ha-tls:'--tls_replica_ca_file: replicas on etcd that serve TLS'; do
  name=${sample%%:*}
  pattern=${sample#*:}
  kustomize_render "$source_dir/tests/deploy/negative/$name" > "$work/$name.yaml"
  if launch "$work/$name.yaml" > "$work/$name.out" 2>&1; then
    cat "$work/$name.out" >&2
    echo "ha_launch_test: the negative sample $name passed" >&2
    exit 1
  fi
  grep -qF -- "$pattern" "$work/$name.out" || {
    cat "$work/$name.out" >&2
    echo "ha_launch_test: the negative sample $name failed without '$pattern'" >&2
    exit 1
  }
  echo "negative sample $name: rejected as expected ($pattern)"
done
