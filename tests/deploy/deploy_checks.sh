#!/usr/bin/env bash
# The offline checks of deploy/: no cluster and no Docker engine, but the real
# tools. Each check runs on what we ship, which must pass, and on a negative
# sample in tests/deploy/negative/, which must fail with the expected message,
# so that a check that has stopped checking fails too.
#
# Usage: deploy_checks.sh CHECK SOURCE_DIR TOOLS_DIR
#   CHECK      render | manifests | yamllint | dockerfile (the linter, and a target for
#              every lrsched/NAME image of the overlays)
#   TOOLS_DIR  the npm tools of tests/tools/package.json, installed by `make test`
set -euo pipefail
check=$1
source_dir=$(cd "$2" && pwd)
tools_dir=$3
negative=$source_dir/tests/deploy/negative
# The overlays, and the example Job of a trainer that dials the shared one.
overlays=(overlays/shared overlays/sidecar overlays/ha examples/shared-trainer)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

source "$source_dir/tests/deploy/kustomize.sh"

fail() {
  echo "deploy_checks $check: $*" >&2
  exit 1
}
# expect_failure WHAT PATTERN COMMAND...: COMMAND fails and says PATTERN.
expect_failure() {
  local what=$1 pattern=$2
  shift 2
  if "$@" > "$work/negative.out" 2>&1; then
    cat "$work/negative.out" >&2
    fail "the negative sample $what passed"
  fi
  grep -q -- "$pattern" "$work/negative.out" ||
    { cat "$work/negative.out" >&2; fail "the negative sample $what failed without '$pattern'"; }
  echo "negative sample $what: rejected as expected ($pattern)"
}
# expect_problems SAMPLE PATTERN...: the manifest check's output ($work/negative.out,
# one run over every sample) has a problem in negative-SAMPLE.yaml saying each PATTERN.
expect_problems() {
  local sample=$1 pattern
  shift
  for pattern in "$@"; do
    grep -F -- "$work/negative-$sample.yaml: " "$work/negative.out" | grep -qF -- "$pattern" ||
      { cat "$work/negative.out" >&2
        fail "the negative sample $sample failed without '$pattern'"; }
    echo "negative sample $sample: rejected as expected ($pattern)"
  done
}
# image_targets DOCKERFILE RENDERED...: every lrsched/NAME image the manifests
# use is a stage NAME of DOCKERFILE, which `docker build --target NAME` builds.
image_targets() {
  local dockerfile=$1 image target status=0
  shift
  for image in $(sed -n 's/^ *image: *"\{0,1\}\(lrsched\/[^" ]*\)"\{0,1\} *$/\1/p' "$@" | sort -u); do
    target=${image#lrsched/}
    target=${target%%[:@]*}
    if grep -qiE "^FROM[[:space:]].*[[:space:]]AS[[:space:]]+$target[[:space:]]*$" "$dockerfile"; then
      echo "$image: built by --target $target"
    else
      echo "$image: $dockerfile has no stage $target to build it"
      status=1
    fi
  done
  return $status
}

case "$check" in
  render)
    for overlay in "${overlays[@]}"; do
      kustomize_render "$source_dir/deploy/k8s/$overlay" > "$work/${overlay##*/}.yaml" ||
        fail "deploy/k8s/$overlay does not render"
      echo "deploy/k8s/$overlay: $(grep -c '^kind:' "$work/${overlay##*/}.yaml") objects"
    done
    expect_failure missing-resource 'horizontalpodautoscaler.yaml' \
      kustomize_render "$negative/missing-resource"
    ;;
  manifests)
    rendered=()
    for overlay in "${overlays[@]}"; do
      kustomize_render "$source_dir/deploy/k8s/$overlay" > "$work/${overlay##*/}.yaml"
      rendered+=("$work/${overlay##*/}.yaml")
    done
    node "$source_dir/tests/deploy/check_manifests.cjs" "$tools_dir" "${rendered[@]}" ||
      fail "the rendered manifests have problems (above)"
    # Every sample in one run (one TypeScript program); each problem names
    # its file, so each sample must have its own expected problems.
    samples=(typo schema insecure slow-drain ha-no-budget ha-etcd-members ha-sqlite-habits
             shared-scaled shared-tls-probe shared-open secrets-in-git ha-no-replica-ca
             ha-replica-name ha-open-etcd)
    negatives=()
    for sample in "${samples[@]}"; do
      kustomize_render "$negative/$sample" > "$work/negative-$sample.yaml"
      negatives+=("$work/negative-$sample.yaml")
    done
    if node "$source_dir/tests/deploy/check_manifests.cjs" "$tools_dir" "${negatives[@]}" \
         > "$work/negative.out" 2>&1; then
      cat "$work/negative.out" >&2
      fail "the negative samples passed"
    fi
    expect_problems typo "'\"restartPolcy\"' does not exist in type 'IContainer'"
    expect_problems schema '/spec/replicas must be integer'
    expect_problems insecure 'readOnlyRootFilesystem is not true' \
      'livenessProbe is not a gRPC probe'
    expect_problems slow-drain 'terminationGracePeriodSeconds (30) is not longer'
    expect_problems ha-no-budget \
      'Deployment/lrsched-server: policy: 3 replicas but no PodDisruptionBudget selects its pods' \
      'Deployment/lrsched-server: policy: 3 replicas but no pod anti-affinity'
    expect_problems ha-etcd-members \
      '--initial-cluster names 3 members (lrsched-etcd-0, lrsched-etcd-1, lrsched-etcd-2)' \
      'but the StatefulSet has 5 replicas (lrsched-etcd-0, lrsched-etcd-1, lrsched-etcd-2, lrsched-etcd-3' \
      'LRSCHED_STORE lists 3 of the 5 members of StatefulSet/lrsched-etcd'
    expect_problems ha-sqlite-habits 'LRSCHED_STORE and LRSCHED_STATE are both set' \
      'keeps its jobs in etcd but mounts the PersistentVolumeClaim lrsched-state' \
      'Recreate stops every replica at once' \
      'LRSCHED_ADVERTISE (unset) is not the pod IP'
    expect_problems shared-scaled 'keeps its jobs in SQLite but has 2 replicas'
    # Security (issue 15): TLS, tokens, the health port, NetworkPolicies, no
    # credential in the manifests.
    expect_problems shared-tls-probe \
      'startupProbe probes the gRPC port 50051, which serves TLS' \
      'livenessProbe probes the gRPC port 50051, which serves TLS'
    expect_problems shared-open 'security: serves plaintext to other pods' \
      'security: no LRSCHED_AUTH_TOKENS_FILE' 'security: no LRSCHED_HEALTH_LISTEN' \
      'Deployment/lrsched-server: security: no NetworkPolicy selects its pods'
    expect_problems secrets-in-git \
      'Secret/lrsched-tls: security: a Secret with its data in the manifests' \
      'Secret/lrsched-tls: security: /data/tls.key (decoded) holds a PEM block' \
      'ConfigMap/lrsched-callers: security: /data/callers.yaml holds a callers file with a plaintext token' \
      'LRSCHED_AUTH_TOKENS_FILE (/etc/lrsched/callers/callers.yaml) is not on a read-only Secret volume' \
      'env LRSCHED_ADMIN_TOKEN is a literal in the manifest' \
      'NetworkPolicy/lrsched-server admits everyone to port grpc (50051)'
    expect_problems ha-no-replica-ca \
      'serves TLS with an etcd store but sets no LRSCHED_TLS_REPLICA_CA_FILE' \
      'serves TLS with an etcd store but sets no LRSCHED_TLS_REPLICA_SERVER_NAME'
    expect_problems ha-replica-name \
      'LRSCHED_TLS_REPLICA_SERVER_NAME (lrsched-server.<metadata.namespace>.svc) is no DNS name of a Service'
    expect_problems ha-open-etcd \
      'StatefulSet/lrsched-etcd: security: no NetworkPolicy selects its pods' \
      'does not admit the workload'"'"'s own pods to the gRPC port grpc (50051): a standby cannot forward'
    ;;
  yamllint)
    cd "$source_dir"
    mapfile -t files < <(find . -path ./build -prune -o -path './build-*' -prune -o \
      -path ./tests/tools/node_modules -prune -o \
      \( -name '*.yaml' -o -name '*.yml' \) -type f ! -name not-lint-clean.yaml -print | sort)
    yamllint --strict -c .yamllint.yaml "${files[@]}" || fail "yamllint found problems (above)"
    echo "yamllint: ${#files[@]} files clean"
    expect_failure not-lint-clean 'duplication of key "kind"' \
      yamllint --strict -c .yamllint.yaml "$negative/not-lint-clean.yaml"
    ;;
  dockerfile)
    lint="$tools_dir/node_modules/.bin/dockerfile-utils"
    [ -x "$lint" ] || fail "$lint is missing; 'make test' installs it"
    "$lint" lint "$source_dir/deploy/docker/Dockerfile" > "$work/lint.out" 2>&1 ||
      { cat "$work/lint.out" >&2; fail "deploy/docker/Dockerfile has lint errors"; }
    [ ! -s "$work/lint.out" ] ||
      { cat "$work/lint.out" >&2; fail "deploy/docker/Dockerfile has lint warnings"; }
    echo "deploy/docker/Dockerfile: no errors, no warnings"
    expect_failure Dockerfile 'Unknown instruction: RUNN' "$lint" lint "$negative/Dockerfile"
    # Every image an overlay uses has its target in the Dockerfile; the
    # negative sample is the Dockerfile without its etcd stage.
    rendered=()
    for overlay in "${overlays[@]}"; do
      kustomize_render "$source_dir/deploy/k8s/$overlay" > "$work/${overlay##*/}.yaml"
      rendered+=("$work/${overlay##*/}.yaml")
    done
    image_targets "$source_dir/deploy/docker/Dockerfile" "${rendered[@]}" ||
      fail "an overlay uses an image that deploy/docker/Dockerfile does not build"
    awk 'toupper($1) == "FROM" { skip = (tolower($NF) == "etcd") } !skip' \
      "$source_dir/deploy/docker/Dockerfile" > "$work/Dockerfile.without-etcd"
    expect_failure Dockerfile.without-etcd 'has no stage etcd to build it' \
      image_targets "$work/Dockerfile.without-etcd" "${rendered[@]}"
    ;;
  *) fail "unknown check (render, manifests, yamllint, dockerfile)" ;;
esac
