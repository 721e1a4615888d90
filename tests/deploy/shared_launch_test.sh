#!/usr/bin/env bash
# Renders the shared overlay and the example trainer Job that dials it, and
# runs both on this machine as their manifests say (shared_launch_test.cjs):
# the server with TLS from its Secret, callers from its Secret, probed on its
# plaintext health port; the trainer with the CA and its token from its
# Secret. The server's certificate is made here with openssl, as
# deploy/README.md (Security) makes it, for the Service's names, from the CA
# of tests/testing/make_certs.sh. Then a negative sample, which must fail:
# gRPC probes on the TLS port.
#
# Usage: shared_launch_test.sh SOURCE_DIR BIN_DIR TOOLS_DIR LRSCHEDCTL TRAINER
set -euo pipefail
source_dir=$(cd "$1" && pwd)
bin_dir=$2
tools_dir=$3
lrschedctl=$4
trainer=$5
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
source "$source_dir/tests/deploy/kustomize.sh"

# The CA, and a server certificate for the Service lrsched in the namespace
# lrsched, as deploy/README.md's openssl commands make it.
certs=$work/certs
"$source_dir/tests/testing/make_certs.sh" "$certs" > /dev/null
cp "$certs/service.pem" "$certs/tls.crt"
cp "$certs/service.key" "$certs/tls.key"

launch() {
  node "$source_dir/tests/deploy/shared_launch_test.cjs" "$1" "$work/trainer.yaml" "$bin_dir" \
    "$tools_dir" "$source_dir/proto" "$certs" "$lrschedctl" "$trainer"
}

kustomize_render "$source_dir/deploy/k8s/overlays/shared" > "$work/shared.yaml"
kustomize_render "$source_dir/deploy/k8s/examples/shared-trainer" > "$work/trainer.yaml"
launch "$work/shared.yaml"

negative_samples=(shared-tls-probe:'where the server serves TLS')
for sample in "${negative_samples[@]}"; do
  name=${sample%%:*}
  pattern=${sample#*:}
  kustomize_render "$source_dir/tests/deploy/negative/$name" > "$work/$name.yaml"
  if launch "$work/$name.yaml" > "$work/$name.out" 2>&1; then
    cat "$work/$name.out" >&2
    echo "shared_launch_test: the negative sample $name passed" >&2
    exit 1
  fi
  grep -qF -- "$pattern" "$work/$name.out" || {
    cat "$work/$name.out" >&2
    echo "shared_launch_test: the negative sample $name failed without '$pattern'" >&2
    exit 1
  }
  echo "negative sample $name: rejected as expected ($pattern)"
done
