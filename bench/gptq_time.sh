#!/usr/bin/env bash
# GPTQ's cost on a model: wall time, CPU time and peak RSS of
# --phiq-quantize-weights with algorithm=rtn, gptq and awq+gptq (Q4_K_M,
# packed into a store), measured in the same command so the ratios hold on
# a loaded machine too.
#
# usage: bench/gptq_time.sh BIN_DIR MODEL_DIR CALIBRATION_STORE [TYPE]
set -euo pipefail
bin=$1 model=$2 calib=$3 type=${4:-Q4_K_M}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$bin/phi-translate" --import-hf "$model" -o "$work/f32.mlir"
printf '| algorithm | wall s | user+sys s | peak RSS MiB |\n|---|---:|---:|---:|\n'
for alg in rtn gptq awq+gptq; do
  extra=""
  [ "$alg" = rtn ] || extra="algorithm=$alg calibration=$calib"
  /usr/bin/time -f '%e %U %S %M' -o "$work/time" "$bin/phi-opt" "$work/f32.mlir" \
    "--phiq-quantize-weights=type=$type $extra output=$work/$alg.safetensors" \
    -o /dev/null
  read -r wall user sys rss < "$work/time"
  printf '| %s | %.2f | %.2f | %.0f |\n' "$alg" "$wall" \
    "$(echo "$user + $sys" | bc)" "$(echo "$rss / 1024" | bc)"
done
