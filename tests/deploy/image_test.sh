#!/usr/bin/env bash
# Builds the server and trainer images of deploy/docker/Dockerfile for real,
# with podman and without a registry (deploy/docker/build-images.sh: the base
# image made with debootstrap), and runs them as the rendered manifests do
# (image_run_test.cjs): the shared overlay's server, and the sidecar
# overlay's training Job across two pods.
#
# podman runs with a configuration, storage and networks of this test's own
# in a temporary directory, so nothing in /etc changes; everything it made
# (containers, pods, images, volumes, networks, their bridges and firewall
# chains) is removed at the end, however the test ends. Only the debootstrap
# result stays, in CACHE_DIR, for the next run.
#
# Usage: image_test.sh SOURCE_DIR CACHE_DIR TOOLS_DIR LRSCHEDCTL
# Exits 77 (skipped) where podman cannot run: not root, podman not installed
# and not installable, or no container starts on this machine.
set -euo pipefail
source_dir=$(cd "$1" && pwd)
cache_dir=$2
tools_dir=$3
lrschedctl=$4
source "$source_dir/tests/deploy/kustomize.sh"

skip() {
  echo "deploy_images: skipped: $*"
  exit 77
}
[ "$(id -u)" -eq 0 ] || skip "podman with storage of its own and debootstrap need root"
"$source_dir/deploy/install-deps.sh" images > /dev/null 2>&1 ||
  skip "podman is not installed and cannot be (deploy/install-deps.sh images)"

work=$(mktemp -d "${TMPDIR:-/tmp}/lrsched-images.XXXXXX")
network=lrsched-images-$$
# What exists already is not this test's to remove.
bridges_before=$(ip -o link show type bridge 2> /dev/null | awk -F': ' '{ print $2 }')
# podman and CNI keep some state at fixed places: the IP allocations of each
# network, the results of CNI calls, and the blobs' digests of builds.
state_paths=(/var/lib/cni/networks/"$network" /var/lib/cni/networks/podman
             /var/lib/cni/networks /var/lib/cni/results /var/lib/cni
             /var/lib/containers/cache /var/lib/containers)
state_before=$(for path in "${state_paths[@]}"; do [ -e "$path" ] && echo "$path"; done || true)
chains_before=$(iptables -S 2> /dev/null | awk '$1 == "-N" { print $2 }')
child=""
cleanup() {
  local status=$? bridge chain
  trap - EXIT
  if [ -n "$child" ]; then
    kill -TERM -- "-$child" 2> /dev/null || true
    wait "$child" 2> /dev/null || true
  fi
  podman pod rm --all --force --time 0 > /dev/null 2>&1 || true
  podman network rm --force "$network" > /dev/null 2>&1 || true
  # Every container, image, volume and network of this storage, unmounted.
  podman system reset --force > /dev/null 2>&1 || true
  for bridge in $(ip -o link show type bridge 2> /dev/null | awk -F': ' '{ print $2 }'); do
    case "$bridge" in
      cni-podman*) grep -qx "$bridge" <<< "$bridges_before" || ip link delete "$bridge" ;;
    esac
  done
  # The CNI firewall plugin's chains, which it leaves behind empty.
  for chain in CNI-FORWARD CNI-ADMIN; do
    iptables -S 2> /dev/null | grep -q -- "^-N $chain\$" || continue
    grep -qx "$chain" <<< "$chains_before" && continue
    if [ "$chain" = CNI-FORWARD ]; then
      iptables -D FORWARD -m comment --comment "CNI firewall plugin rules" -j CNI-FORWARD \
        2> /dev/null || true
    fi
    { iptables -F "$chain" && iptables -X "$chain"; } || true
  done
  for path in "${state_paths[@]}"; do
    grep -qx "$path" <<< "$state_before" || rm -rf "$path"
  done
  if grep -q " $work/" /proc/mounts; then
    grep -o " $work/[^ ]*" /proc/mounts | sort -r | xargs -r umount -l || true
  fi
  rm -rf "$work"
  exit "$status"
}
trap cleanup EXIT
# Interrupted or stopped, it still cleans up.
trap 'exit 130' INT
trap 'exit 143' TERM

# This machine's limits are below podman's defaults, which crun and runc then
# fail to set; runc, as crun does not run on a hybrid cgroup hierarchy.
mkdir -p "$work/networks"
cat > "$work/containers.conf" <<EOF
[containers]
default_ulimits = ["nofile=20000:20000", "nproc=32768:32768"]
[engine]
runtime = "runc"
events_logger = "file"
events_logfile_path = "$work/events.log"
tmp_dir = "$work/libpod"
[network]
network_config_dir = "$work/networks"
EOF
cat > "$work/storage.conf" <<EOF
[storage]
driver = "overlay"
graphroot = "$work/storage"
runroot = "$work/run"
EOF
# Short names resolve to the images made here, never to a registry.
cat > "$work/registries.conf" <<EOF
unqualified-search-registries = []
short-name-mode = "disabled"
EOF
export CONTAINERS_CONF=$work/containers.conf CONTAINERS_STORAGE_CONF=$work/storage.conf
export CONTAINERS_REGISTRIES_CONF=$work/registries.conf

seconds() { echo $((SECONDS - $1)); }
# Runs a command for at most $1 seconds, in the background so that a signal
# to this script is handled at once: timeout makes it a process group of its
# own, which cleanup stops.
bounded() {
  local status=0
  timeout "$1" "${@:2}" &
  child=$!
  wait "$child" || status=$?
  child=""
  return "$status"
}
start=$SECONDS
ENGINE=podman BASE_CACHE=$cache_dir "$source_dir/deploy/docker/build-images.sh" --base-only
if ! probe=$(podman run --rm --pull=never --network=none debian:bookworm true 2>&1); then
  skip "podman cannot start a container here: $(head -n 1 <<< "$probe")"
fi
echo "deploy_images: base image in $(seconds "$start") s"

start=$SECONDS
# Well within ctest's timeout, after which nothing would clean up.
ENGINE=podman bounded 900 "$source_dir/deploy/docker/build-images.sh" server trainer \
  > "$work/build.log" 2>&1 ||
  { tail -n 40 "$work/build.log" >&2
    echo "deploy_images: deploy/docker/Dockerfile does not build (above)" >&2
    exit 1; }
grep -E '^lrsched/[a-z]+:[^ ]+: ' "$work/build.log"
echo "deploy_images: images built in $(seconds "$start") s"

# The Secret lrsched-tls of the shared overlay: a certificate for its Service.
"$source_dir/tests/testing/make_certs.sh" "$work/certs" > /dev/null
cp "$work/certs/service.pem" "$work/certs/tls.crt"
cp "$work/certs/service.key" "$work/certs/tls.key"
kustomize_render "$source_dir/deploy/k8s/overlays/shared" > "$work/shared.yaml"
kustomize_render "$source_dir/deploy/k8s/overlays/sidecar" > "$work/sidecar.yaml"
mkdir "$work/pods"
start=$SECONDS
bounded 720 node "$source_dir/tests/deploy/image_run_test.cjs" "$work/shared.yaml" "$work/sidecar.yaml" \
  "$tools_dir" "$work/pods" "$network" "$lrschedctl" "$work/certs"
echo "deploy_images: containers run in $(seconds "$start") s"
