#!/usr/bin/env bash
# Installs the Debian 12 packages lrsched builds, tests and runs with, and only
# those that are missing, so that running it again is cheap. The one
# dependency list shared by the README, CI and the container image
# (deploy/docker/Dockerfile).
#
# Usage: deploy/install-deps.sh [GROUP]...   (default: build)
#   build            compile everything and run every test (README, CI)
#   compile          compile the binaries only (the image's build stage)
#   server-runtime   run lrsched-server (the server image)
#   trainer-runtime  run lrsched-trainer under MPI across pods (the trainer image)
#   traces           Debian's PyTorch, to regenerate the reference traces by hand
#   python           build and install the Python client (make install-python)
#   images           build the images without a registry and run them (make images)
set -euo pipefail

compile_packages=(
  build-essential cmake ninja-build pkg-config
  libgrpc++-dev protobuf-compiler-grpc libprotobuf-dev protobuf-compiler grpc-proto
  libabsl-dev libeigen3-dev libsqlite3-dev zlib1g-dev prometheus-cpp-dev libyaml-cpp-dev
  libopenmpi-dev openmpi-bin
  # --http_listen; libcivetweb-dev's CMake files also check for the civetweb
  # program, which is in a package of its own.
  libcivetweb-dev civetweb
)
# The benchmarks' smoke runs (part of the tests) compare against an
# independent load generator (h2load) and against PyTorch; lrschedctl's
# pictures are rendered in a real browser (chromium, headless); clang checks
# the lock annotations, which g++ ignores (make check-thread-safety), and
# builds the fuzz targets with libFuzzer and the sanitizers, whose runtimes
# clang only recommends (make fuzz); the etcd store is tested against real
# etcd members that the tests start (etcdctl: the README's examples).
test_packages=(libgtest-dev libgmock-dev libbenchmark-dev yamllint socat nghttp2-client
               python3 python3-torch chromium clang libclang-rt-dev etcd-server etcd-client
               python3-grpcio python3-protobuf python3-pytest python3-pip python3-setuptools
               python3-wheel python3-venv)
# The images are built and run by the tests too (tests/deploy/image_test.sh),
# with podman and without a registry: runc (crun does not run on a hybrid
# cgroup hierarchy), catatonit for the pods' infra containers, the CNI plugins
# and iptables for their network, debootstrap for the base image, ssh-keygen
# for the training Job's Secret.
image_packages=(podman runc catatonit containernetworking-plugins iptables iproute2
                debootstrap openssh-client)
# Tests drive the server and check the deployment with independent tools from
# npm (buf curl, kubernetes-models, dockerfile-utils), so they need Node.js
# and npm; any Node.js 18 or newer will do.
node_packages=(nodejs npm)
server_runtime_packages=(libgrpc++1.51 libprotobuf32 libsqlite3-0 libprometheus-cpp-core1.0
                         libprometheus-cpp-pull1.0 libyaml-cpp0.7 libcivetweb1 ca-certificates
                         socat)
trainer_runtime_packages=(libgrpc++1.51 libprotobuf32 openmpi-bin openssh-client openssh-server)
traces_packages=(python3 python3-torch)
# The Python client: its stubs generated from proto/ (protoc, grpc_python_plugin
# and the well-known types' .proto files), and pip installing it offline with
# Debian's setuptools. (lrsched.torch also needs python3-torch, which a PyTorch
# user has.)
python_packages=(cmake ninja-build protobuf-compiler protobuf-compiler-grpc libprotobuf-dev
                 python3 python3-grpcio python3-protobuf python3-pip python3-setuptools
                 python3-wheel python3-venv)

wanted=()
[ $# -eq 0 ] && set -- build
for group in "$@"; do
  case "$group" in
    build)
      wanted+=("${compile_packages[@]}" "${test_packages[@]}" "${image_packages[@]}")
      command -v npm >/dev/null 2>&1 || wanted+=("${node_packages[@]}")
      ;;
    compile) wanted+=("${compile_packages[@]}") ;;
    server-runtime) wanted+=("${server_runtime_packages[@]}") ;;
    trainer-runtime) wanted+=("${trainer_runtime_packages[@]}") ;;
    traces) wanted+=("${traces_packages[@]}") ;;
    python) wanted+=("${python_packages[@]}") ;;
    images) wanted+=("${image_packages[@]}") ;;
    *)
      echo "install-deps.sh: unknown group '$group'" \
        "(build, compile, server-runtime, trainer-runtime, traces, python, images)" >&2
      exit 2
      ;;
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
