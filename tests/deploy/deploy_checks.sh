#!/usr/bin/env bash
# The offline checks of deploy/: no cluster and no Docker engine, but the real
# tools. Each check runs on what we ship, which must pass, and on a negative
# sample in tests/deploy/negative/, which must fail with the expected message,
# so that a check that has stopped checking fails too.
#
# Usage: deploy_checks.sh CHECK SOURCE_DIR TOOLS_DIR
#   CHECK      render | manifests | yamllint | dockerfile
#   TOOLS_DIR  the npm tools of tests/tools/package.json, installed by `make test`
set -euo pipefail
check=$1
source_dir=$(cd "$2" && pwd)
tools_dir=$3
negative=$source_dir/tests/deploy/negative
overlays=(shared sidecar)
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

case "$check" in
  render)
    for overlay in "${overlays[@]}"; do
      kustomize_render "$source_dir/deploy/k8s/overlays/$overlay" > "$work/$overlay.yaml" ||
        fail "deploy/k8s/overlays/$overlay does not render"
      echo "deploy/k8s/overlays/$overlay: $(grep -c '^kind:' "$work/$overlay.yaml") objects"
    done
    expect_failure missing-resource 'horizontalpodautoscaler.yaml' \
      kustomize_render "$negative/missing-resource"
    ;;
  manifests)
    rendered=()
    for overlay in "${overlays[@]}"; do
      kustomize_render "$source_dir/deploy/k8s/overlays/$overlay" > "$work/$overlay.yaml"
      rendered+=("$work/$overlay.yaml")
    done
    node "$source_dir/tests/deploy/check_manifests.cjs" "$tools_dir" "${rendered[@]}" ||
      fail "the rendered manifests have problems (above)"
    for sample in typo schema insecure slow-drain; do
      kustomize_render "$negative/$sample" > "$work/negative-$sample.yaml"
    done
    check() { node "$source_dir/tests/deploy/check_manifests.cjs" "$tools_dir" "$@"; }
    expect_failure typo "'\"restartPolcy\"' does not exist in type 'IContainer'" \
      check "$work/negative-typo.yaml"
    expect_failure schema '/spec/replicas must be integer' check "$work/negative-schema.yaml"
    expect_failure insecure 'readOnlyRootFilesystem is not true' \
      check "$work/negative-insecure.yaml"
    expect_failure insecure 'livenessProbe is not a gRPC probe' \
      check "$work/negative-insecure.yaml"
    expect_failure slow-drain 'terminationGracePeriodSeconds (30) is not longer' \
      check "$work/negative-slow-drain.yaml"
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
    ;;
  *) fail "unknown check (render, manifests, yamllint, dockerfile)" ;;
esac
