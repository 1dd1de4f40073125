#!/usr/bin/env bash
# Installs what PhiQ needs on Debian 12 (when missing), builds it with Ninja
# and ccache into ./build, and prepares the Python test runtimes in ./.venv.
# Safe to re-run: every step is skipped when already done.
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PACKAGES=(
  cmake ninja-build ccache g++ pkg-config python3 python3-venv
  llvm-22-dev libmlir-22-dev mlir-22-tools llvm-22-tools
  libfmt-dev libgtest-dev libsentencepiece-dev libpcre2-dev
  zlib1g-dev libzstd-dev libonnx-dev libprotobuf-dev protobuf-compiler
  libexpat1-dev
)

missing=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "phiq-setup: installing ${missing[*]}"
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO=sudo
  $SUDO apt-get update -q
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q "${missing[@]}"
fi

# Python runtimes the end-to-end tests drive, pinned, in a virtual env.
if [ ! -x .venv/bin/python ] || ! cmp -s requirements-test.txt .venv/.requirements; then
  /usr/bin/python3 -m venv .venv
  .venv/bin/pip install -q --disable-pip-version-check -r requirements-test.txt
  cp requirements-test.txt .venv/.requirements
fi

export CCACHE_DIR="${CCACHE_DIR:-$HOME/.cache/ccache}"
# Relative paths in the cache key: clones in other folders (CI) hit too.
export CCACHE_BASEDIR="$PWD"
if [ ! -f build/build.ninja ]; then
  cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release \
    -DPython3_EXECUTABLE="$PWD/.venv/bin/python"
fi
cmake --build build -j"$(nproc)"
