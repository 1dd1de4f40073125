#!/usr/bin/env bash
# Builds PhiQ and runs the whole suite: lit/FileCheck, GoogleTest and the
# end-to-end checks against the reference outputs, through ctest.
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/phiq-setup.sh
ctest --test-dir build --output-on-failure -j"$(nproc)"
