#!/usr/bin/env bash
# The main job on the embedded default model (models/phi35-tiny): import it,
# print its structure, score the held-out tokens, and answer a chat prompt.
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/phiq-setup.sh
MODEL=models/phi35-tiny
BIN=build/bin

echo "== import: $MODEL -> build/phi35-tiny.mlir"
"$BIN/phi-translate" --import-hf "$MODEL" -o build/phi35-tiny.mlir
echo "== structure"
"$BIN/phi-opt" build/phi35-tiny.mlir --phiq-print-model-summary -o /dev/null
echo "== perplexity on held-out tokens ($MODEL/reference/eval_tokens.i32, 32 x 256)"
"$BIN/phi-run" eval build/phi35-tiny.mlir \
  --tokens "$MODEL/reference/eval_tokens.i32" --seq-len 256
echo "== chat"
"$BIN/phi-run" generate build/phi35-tiny.mlir --chat \
  --system "You are a helpful assistant." \
  --prompt "How do I delete a line in Vim?" --max-new-tokens 48
