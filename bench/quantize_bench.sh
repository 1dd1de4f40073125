#!/usr/bin/env bash
# quantize_bench.sh - phi-quantize against llama.cpp's own quantizer.
#
# Usage: bench/quantize_bench.sh [BUILD_DIR] [MODEL_DIR] [TYPES...]
#   BUILD_DIR  default build;  MODEL_DIR default models/phi35-tiny
#   TYPES      default Q4_0 Q8_0 Q4_K_M
#
# For each type, in one command and with 2 threads each, from the same
# input: a BF16 GGUF of the model that phi-quantize writes first (exact: the
# checkpoints are bf16):
#   ours    phi-quantize BF16.gguf --type T
#   theirs  llama_model_quantize (llama-cpp-python's llama.cpp) BF16.gguf
# and prints wall time and peak RSS (GNU time) of each, with the ratios
# theirs / ours.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${1:-build}; MODEL=${2:-models/phi35-tiny}; shift $(( $# > 2 ? 2 : $# )) || true
TYPES=("${@:-Q4_0 Q8_0 Q4_K_M}")
read -r -a TYPES <<< "${TYPES[*]}"
PY=.venv/bin/python
[ -x "$BUILD/bin/phi-quantize" ] || { echo "quantize_bench: build $BUILD/bin/phi-quantize first" >&2; exit 1; }
[ -x "$PY" ] || { echo "quantize_bench: run tools/phiq-setup.sh first (.venv)" >&2; exit 1; }
WORK=$(mktemp -d); trap 'rm -rf "$WORK"' EXIT
"$BUILD/bin/phi-quantize" "$MODEL" --type BF16 -o "$WORK/bf16.gguf" --quiet >/dev/null

# Both start from a warm page cache: the input is read once before each run
# (phi-quantize writes with O_DIRECT, so the file it just wrote is not cached).
measure() {
  cat "$WORK/bf16.gguf" > /dev/null
  /usr/bin/time -f '%e %M' -o "$WORK/time" "$@" >/dev/null 2>&1; cat "$WORK/time"
}
printf '%-8s %10s %10s %10s %10s %8s %8s\n' type ours_s ours_MB llama_s llama_MB 'x time' 'x RSS'
for t in "${TYPES[@]}"; do
  read -r os orss < <(PHIQ_NUM_THREADS=2 measure "$BUILD/bin/phi-quantize" "$WORK/bf16.gguf" --type "$t" -o "$WORK/ours.gguf" --quiet)
  read -r ls lrss < <(measure "$PY" - "$WORK/bf16.gguf" "$WORK/theirs.gguf" "$t" <<'PYEOF'
import ctypes, sys
import llama_cpp
ftypes = {"Q4_0": 2, "Q4_1": 3, "Q8_0": 7, "Q5_0": 8, "Q5_1": 9, "Q2_K": 10, "Q3_K_S": 11,
          "Q3_K_M": 12, "Q3_K_L": 13, "Q4_K_S": 14, "Q4_K_M": 15, "Q5_K_S": 16, "Q5_K_M": 17,
          "Q6_K": 18, "IQ4_NL": 25}
params = llama_cpp.llama_model_quantize_default_params()
params.ftype = ftypes[sys.argv[3]]
params.nthread = 2
rc = llama_cpp.llama_model_quantize(sys.argv[1].encode(), sys.argv[2].encode(), ctypes.byref(params))
sys.exit(rc)
PYEOF
)
  awk -v t="$t" -v os="$os" -v orss="$orss" -v ls="$ls" -v lrss="$lrss" 'BEGIN {
    printf "%-8s %10.3f %10.1f %10.3f %10.1f %8.2f %8.2f\n", t, os, orss/1000, ls, lrss/1000,
      (os > 0 ? ls/os : 0), (orss > 0 ? lrss/orss : 0) }'
done
echo "x time / x RSS: llama.cpp's figure over PhiQ's (above 1: PhiQ faster / smaller)."
