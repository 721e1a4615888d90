#!/usr/bin/env bash
# Builds the lrsched images of deploy/docker/Dockerfile with podman or docker,
# with or without a registry. Where the engine has no debian:bookworm, it makes
# one from Debian's packages with debootstrap (as root), from the Debian mirror
# this machine's apt uses, and tags it debian:bookworm and debian:bookworm-slim,
# which the Dockerfile's FROM lines then find without a pull.
#
# Usage: deploy/docker/build-images.sh [TARGET...]   (default: server trainer etcd)
#        deploy/docker/build-images.sh --base-only      (the base image only)
# Environment:
#   ENGINE      podman or docker (default: podman if installed, else docker)
#   TAG         the images' tag (default 0.1.0): lrsched/TARGET:TAG
#   BASE_CACHE  a directory that keeps the debootstrap result between runs
#               (default: none, debootstrap every time a base image is missing)
set -euo pipefail
source_dir=$(cd "$(dirname "$0")/../.." && pwd)
tag=${TAG:-0.1.0}
[ $# -eq 0 ] && set -- server trainer etcd
suite=bookworm

engine=${ENGINE:-}
if [ -z "$engine" ]; then
  if command -v podman > /dev/null; then
    engine=podman
  elif docker info > /dev/null 2>&1; then
    engine=docker
  else
    echo "build-images.sh: neither podman nor a running docker" \
      "(deploy/install-deps.sh images installs podman)" >&2
    exit 1
  fi
fi
pull=()
# podman would otherwise look for debian:bookworm in the registries too.
[ "$engine" = podman ] && pull=(--pull=never)

# The official image's sources: the suite, its updates and its security
# updates, from the mirrors apt uses here (deb.debian.org where it uses none).
debian_sources() {
  # shellcheck disable=SC2016  # apt's own placeholders
  apt-get indextargets --format '$(REPO_URI) $(RELEASE) $(COMPONENT)' 'Created-By: Packages' \
      2> /dev/null |
    awk -v suite="$suite" '$2 == suite || $2 == suite "-updates" || $2 == suite "-security" {
      print "deb " $1 " " $2 " " $3 }' | sort -u
}

# Writes the root file system of a minimal Debian as a tar file to $1.
debootstrap_tar() {
  local sources mirror rootfs
  sources=$(debian_sources)
  [ -n "$sources" ] || sources="deb http://deb.debian.org/debian $suite main
deb http://deb.debian.org/debian $suite-updates main
deb http://deb.debian.org/debian-security $suite-security main"
  mirror=$(awk -v suite="$suite" '$3 == suite { print $2; exit }' <<< "$sources")
  rootfs=$(mktemp -d)
  # shellcheck disable=SC2064  # the directory is known now
  trap "rm -rf '$rootfs'" RETURN
  echo "build-images.sh: debootstrap $suite from $mirror (about 30 s)"
  debootstrap --variant=minbase "$suite" "$rootfs" "$mirror" > "$rootfs.log" 2>&1 ||
    { cat "$rootfs.log" >&2; rm -f "$rootfs.log"; return 1; }
  rm -f "$rootfs.log"
  echo "$sources" > "$rootfs/etc/apt/sources.list"
  # What the official image leaves out too: package lists and downloads.
  rm -rf "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/cache/apt/archives/*.deb
  tar --numeric-owner --xattrs -C "$rootfs" --exclude='./dev/*' --exclude='./proc/*' \
    --exclude='./sys/*' -cf "$1" .
}

make_base_image() {
  local key tarball
  if [ "$(id -u)" -ne 0 ] || ! command -v debootstrap > /dev/null; then
    echo "build-images.sh: $engine has no debian:$suite and this is no root with" \
      "debootstrap to make one (deploy/install-deps.sh images installs it)" >&2
    return 1
  fi
  # A kept root file system is good for what it was made from: the same
  # mirrors, debootstrap and architecture; and for a week, so that it does
  # not fall far behind the security updates.
  tarball=$(mktemp)
  if [ -n "${BASE_CACHE:-}" ]; then
    mkdir -p "$BASE_CACHE"
    key=$( { debian_sources; dpkg-query -W -f='${Version}' debootstrap; dpkg --print-architecture; } |
           sha256sum | cut -c1-16)
    find "$BASE_CACHE" -name "debian-$suite-*.tar" -mtime +6 -delete
    rm -f "$tarball"
    tarball=$BASE_CACHE/debian-$suite-$key.tar
    if [ ! -s "$tarball" ]; then
      debootstrap_tar "$tarball.partial"
      mv "$tarball.partial" "$tarball"
    fi
  else
    debootstrap_tar "$tarball"
  fi
  "$engine" import --change 'CMD ["bash"]' "$tarball" "debian:$suite" > /dev/null
  "$engine" tag "debian:$suite" "debian:$suite-slim"
  [ -n "${BASE_CACHE:-}" ] || rm -f "$tarball"
  echo "build-images.sh: made debian:$suite and debian:$suite-slim"
}

if ! "$engine" image inspect "debian:$suite" > /dev/null 2>&1 ||
   ! "$engine" image inspect "debian:$suite-slim" > /dev/null 2>&1; then
  make_base_image
fi

[ "${1:-}" = --base-only ] && exit 0

cd "$source_dir"
for target in "$@"; do
  echo "build-images.sh: lrsched/$target:$tag"
  "$engine" build "${pull[@]}" -f deploy/docker/Dockerfile --target "$target" \
    -t "lrsched/$target:$tag" .
done
for target in "$@"; do
  "$engine" image inspect --format "lrsched/$target:$tag {{.Size}}" "lrsched/$target:$tag" |
    awk '{ printf "%s: %.0f MB\n", $1, $2 / 1e6 }'
done
