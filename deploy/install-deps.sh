#!/usr/bin/env bash
# Installs the Debian 12 packages lrsched builds and tests with, and only those
# that are missing, so that running it again is cheap. The one dependency list
# shared by the README, CI and the Dockerfile.
#
# Usage: deploy/install-deps.sh [build|traces|runtime]...   (default: build)
#   build    compile everything and run every test
#   traces   Debian's PyTorch, to regenerate the reference traces by hand
#   runtime  run the binaries (the container image)
set -euo pipefail

build_packages=(
  build-essential cmake ninja-build pkg-config
  libgrpc++-dev protobuf-compiler-grpc libprotobuf-dev protobuf-compiler grpc-proto
  libabsl-dev libeigen3-dev libsqlite3-dev zlib1g-dev
  libopenmpi-dev openmpi-bin
  libgtest-dev libgmock-dev libbenchmark-dev
)
# Tests drive the server with independent clients from npm (buf curl), so
# they need Node.js and npm; any Node.js 18 or newer will do.
node_packages=(nodejs npm)
# The reference PyTorch regenerates the checked-in traces; tests only read them.
traces_packages=(python3 python3-torch)
runtime_packages=(libgrpc++1.51 libprotobuf32 libsqlite3-0 openmpi-bin ca-certificates)

wanted=()
[ $# -eq 0 ] && set -- build
for group in "$@"; do
  case "$group" in
    build)
      wanted+=("${build_packages[@]}")
      command -v npm >/dev/null 2>&1 || wanted+=("${node_packages[@]}")
      ;;
    traces) wanted+=("${traces_packages[@]}") ;;
    runtime) wanted+=("${runtime_packages[@]}") ;;
    *) echo "install-deps.sh: unknown group '$group' (build, traces, runtime)" >&2; exit 2 ;;
  esac
done

missing=()
for package in "${wanted[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q 'ok installed' ||
    missing+=("$package")
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "install-deps.sh: installing ${missing[*]}"
sudo=""
[ "$(id -u)" -ne 0 ] && sudo="sudo"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
