#!/usr/bin/env bash
# Installs the lrsched Python package staged by CMake (sources and the stubs
# generated from proto/) with pip, offline: --no-index, and
# --no-build-isolation so that the build uses Debian's python3-setuptools.
#
#   - In an active virtual environment ($VIRTUAL_ENV; make it with
#     `python3 -m venv --system-site-packages`, so that it sees Debian's
#     python3-grpcio, python3-protobuf and python3-torch): into it.
#   - Otherwise into Debian's system Python (/usr/bin/python3), under
#     /usr/local, with pip's --break-system-packages: PEP 668 marks Debian's
#     Python as externally managed, and a package of our own beside Debian's
#     is what /usr/local is for. Uses sudo when not root.
#   - PYTHON=/path/to/python picks the interpreter explicitly.
#
# Usage: client/python/install.sh STAGED_PACKAGE_DIR   (make install-python runs it)
set -euo pipefail
package=${1:?usage: install.sh STAGED_PACKAGE_DIR}
[ -f "$package/pyproject.toml" ] && [ -f "$package/lrsched/v1/scheduler_service_pb2_grpc.py" ] || {
  echo "install.sh: $package is not a staged lrsched package (build it with CMake first)" >&2
  exit 2
}
python=${PYTHON:-}
if [ -z "$python" ]; then
  if [ -n "${VIRTUAL_ENV:-}" ]; then
    python="$VIRTUAL_ENV/bin/python3"
  else
    python=/usr/bin/python3
  fi
fi
flags=(--no-index --no-build-isolation --disable-pip-version-check --quiet)
sudo=()
if [ "$("$python" -c 'import sys; print(sys.prefix != sys.base_prefix)')" = False ]; then
  flags+=(--break-system-packages)
  [ "$(id -u)" -ne 0 ] && sudo=(sudo)
  [ "$(id -u)" -eq 0 ] && flags+=(--root-user-action=ignore)
fi
# pip builds in place; a copy keeps the staged tree free of its leftovers.
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cp -r "$package"/. "$work"
"${sudo[@]}" "$python" -m pip install "${flags[@]}" "$work"
# Checked from / so that nothing in the current directory shadows it.
(cd / && "$python" -c 'import sys, lrsched, lrsched.v1.scheduler_service_pb2_grpc
print("lrsched", lrsched.__version__, "installed for", sys.executable, "in", lrsched.__path__[0])')
