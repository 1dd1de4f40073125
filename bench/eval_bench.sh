#!/usr/bin/env bash
# eval_bench.sh - the reference executor's throughput on the tiny models.
#
# Usage: bench/eval_bench.sh [BUILD_DIR] [--reps N] [--new-tokens N]
#   BUILD_DIR     the CMake build folder (default /work/build)
#   --reps N      runs per model of eval and of generate, median reported
#                 (default 3)
#   --new-tokens  tokens decoded by `phi-run generate` (default 128)
#
# In one command:
#   eval      phi-run eval MODEL --tokens reference/eval_tokens.i32
#             --seq-len 256 --json  (32 windows x 256 tokens), for
#             models/phi35-tiny, phi4-mini-tiny and phimoe-tiny (MoE): tokens/s and
#             matmul GFLOP/s (= tokens/s x the model's matmul FLOPs per
#             token, so everything else the executor does counts against it)
#   decode    phi-run generate MODEL --prompt-ids 1,2,3 --max-new-tokens N
#             --ignore-eos --json: decode tokens/s and prefill time
#   kernels   phiq-bench-kernels --matmul once, whose textbook triple loop
#             ("naive") and vectorizable loop ("autovec") on the same worker
#             pool are the references: the executor's end-to-end matmul
#             GFLOP/s is reported as a ratio to them, and to the kernel's
#             own GFLOP/s on the same shapes ("kernel", an efficiency).
# The runs of the models are interleaved so machine noise hits all alike.
set -euo pipefail

die() { echo "eval_bench: $*" >&2; exit 1; }

BUILD=/work/build
REPS=3
NEW=128
while (($#)); do
  case "$1" in
  --reps)
    (($# >= 2)) || die "--reps needs a number"
    REPS=$2
    shift
    ;;
  --new-tokens)
    (($# >= 2)) || die "--new-tokens needs a number"
    NEW=$2
    shift
    ;;
  -h | --help)
    sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'
    exit 0
    ;;
  -*) die "unknown option $1 (see --help)" ;;
  *) BUILD=$1 ;;
  esac
  shift
done
[[ $REPS =~ ^[1-9][0-9]*$ ]] || die "--reps wants a positive integer, got '$REPS'"
[[ $NEW =~ ^[1-9][0-9]*$ ]] || die "--new-tokens wants a positive integer, got '$NEW'"

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
RUN=$BUILD/bin/phi-run
KB=$BUILD/bench/phiq-bench-kernels
for t in "$RUN" "$KB"; do
  [[ -x $t ]] || die "$t not found: build it first (cd $BUILD && ninja phi-run phiq-bench-kernels), or pass the build folder as the first argument"
done
MODELS=(phi35-tiny phi4-mini-tiny phimoe-tiny)
for m in "${MODELS[@]}"; do
  [[ -f $REPO/models/$m/reference/eval_tokens.i32 ]] || die "$REPO/models/$m/reference/eval_tokens.i32 missing"
done

TMP=$(mktemp -d "${TMPDIR:-/tmp}/phiq-eval-bench.XXXXXX")
trap 'rm -rf "$TMP"' EXIT

# json_num FILE KEY: a number field of phi-run's one-line JSON.
json_num() {
  local v
  v=$(grep -o "\"$2\":[-+0-9.eE]*" "$1" | head -n1 | cut -d: -f2)
  [[ -n $v ]] || die "no \"$2\" in the JSON of $(basename "$1"): $(head -c 300 "$1")"
  echo "$v"
}
# median FILE: the median of a column of numbers.
median() {
  local n
  n=$(wc -l <"$1")
  sort -g "$1" | sed -n "$(((n + 1) / 2))p"
}
# spread FILE: (max - min) / median of a column, in percent: the noise.
spread() {
  sort -g "$1" | awk '{v[NR]=$1} END{m=v[int((NR+1)/2)]; if (m>0) printf "%.0f%%", 100*(v[NR]-v[1])/m; else print "n/a"}'
}
fmt() { awk -v x="$1" -v f="${2:-%.2f}" 'BEGIN{printf f, x}'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN{ if (b>0) printf "%.2f", a/b; else print "n/a"}'; }
checked() { # checked OUTFILE CMD...: run, keep stdout, show stderr on failure
  local out=$1
  shift
  if ! "$@" >"$out" 2>"$TMP/err"; then
    echo "eval_bench: command failed: $*" >&2
    tail -n 20 "$TMP/err" >&2
    exit 1
  fi
}

CPU=$(lscpu 2>/dev/null | sed -n 's/^Model name: *//p' | head -n1)
echo "eval_bench: ${CPU:-unknown CPU}, $(nproc) cores, $REPS reps (median)${PHIQ_NUM_THREADS:+, PHIQ_NUM_THREADS=$PHIQ_NUM_THREADS}${PHIQ_CPU:+, PHIQ_CPU=$PHIQ_CPU}"

# ---- kernel references ----------------------------------------------------
echo "  phiq-bench-kernels --matmul ..."
if ! "$KB" --matmul >"$TMP/kernels.txt" 2>"$TMP/err"; then
  # An older or newer bench without --matmul: run all of it.
  checked "$TMP/kernels.txt" "$KB"
fi
KHEAD=$(head -n1 "$TMP/kernels.txt")
# Matmul rows: "M N K | ours | naive autovec | x naive x auto". Geometric
# means over all rows (the references' speed does not depend on M), and the
# kernel's own figure over the rows with M > 1 (prefill/eval-sized).
read -r K_NAIVE K_AUTO K_OURS K_ROWS < <(awk -F'|' '
  /matmulTransB/ {on=1; next}
  /^attention/ {on=0}
  on && NF >= 4 && $1 ~ /^ *[0-9]+ +[0-9]+ +[0-9]+ *$/ {
    split($1, mnk, " "); split($3, ref, " "); ours = $2 + 0
    if (ref[1] > 0 && ref[2] > 0) { ln += log(ref[1]); la += log(ref[2]); n++ }
    if (mnk[1] > 1 && ours > 0) { lo += log(ours); no++ }
  }
  END { if (n && no) printf "%.4f %.4f %.4f %d\n", exp(ln/n), exp(la/n), exp(lo/no), n
        else print "0 0 0 0" }' "$TMP/kernels.txt")
((K_ROWS > 0)) || die "could not read the matmul table of $KB; its output was:
$(cat "$TMP/kernels.txt")"

# ---- eval and decode, interleaved ---------------------------------------
for ((r = 1; r <= REPS; r++)); do
  for m in "${MODELS[@]}"; do
    dir=$REPO/models/$m
    echo "  rep $r/$REPS: $m eval, generate $NEW"
    checked "$TMP/$m.eval.$r.json" "$RUN" eval "$dir" --tokens "$dir/reference/eval_tokens.i32" --seq-len 256 --json
    checked "$TMP/$m.gen.$r.json" "$RUN" generate "$dir" --prompt-ids 1,2,3 --max-new-tokens "$NEW" --ignore-eos --json
    json_num "$TMP/$m.eval.$r.json" tokens_per_second >>"$TMP/$m.tps"
    json_num "$TMP/$m.eval.$r.json" matmul_gflops >>"$TMP/$m.gflops"
    json_num "$TMP/$m.eval.$r.json" perplexity >>"$TMP/$m.ppl"
    json_num "$TMP/$m.gen.$r.json" decode_tokens_per_second >>"$TMP/$m.dps"
    json_num "$TMP/$m.gen.$r.json" prefill_seconds >>"$TMP/$m.prefill"
    n=$(grep -o '"new_ids":\[[^]]*\]' "$TMP/$m.gen.$r.json" | grep -o '[0-9][0-9]*' | wc -l)
    ((n == NEW)) || die "$m generated $n tokens, not $NEW (--ignore-eos ignored?)"
  done
done

# ---- report ------------------------------------------------------------------
echo
echo "kernel references (${KHEAD#phiq-bench-kernels: }):"
echo "  naive $(fmt "$K_NAIVE") GFLOP/s, autovec $(fmt "$K_AUTO") GFLOP/s (geomean of $K_ROWS shapes);" \
  "our matmulTransB $(fmt "$K_OURS") GFLOP/s (geomean, M > 1)"
echo
hdr='%-15s %10s %6s %10s %8s %7s %8s %7s | %10s %6s %11s %8s %10s\n'
printf "$hdr" "model" "eval tok/s" "spread" "mm GFLOP/s" "x naive" "x auto" "x kernel" "ppl" \
  "decode t/s" "spread" "dec GFLOP/s" "x naive" "prefill ms"
printf "$hdr" "---------------" "----------" "------" "----------" "--------" "-------" "--------" "-------" \
  "----------" "------" "-----------" "--------" "----------"
for m in "${MODELS[@]}"; do
  tps=$(median "$TMP/$m.tps")
  gf=$(median "$TMP/$m.gflops")
  dps=$(median "$TMP/$m.dps")
  pre=$(median "$TMP/$m.prefill")
  ppl=$(median "$TMP/$m.ppl")
  # Decode runs the same matmuls per token (M = 1).
  dgf=$(awk -v d="$dps" -v g="$gf" -v t="$tps" 'BEGIN{print d*g/t}')
  printf "$hdr" "$m" \
    "$(fmt "$tps" %.0f)" "$(spread "$TMP/$m.tps")" "$(fmt "$gf" %.1f)" "$(ratio "$gf" "$K_NAIVE")" \
    "$(ratio "$gf" "$K_AUTO")" "$(ratio "$gf" "$K_OURS")" "$(fmt "$ppl" %.3f)" \
    "$(fmt "$dps" %.0f)" "$(spread "$TMP/$m.dps")" "$(fmt "$dgf" %.2f)" "$(ratio "$dgf" "$K_NAIVE")" \
    "$(fmt "$(awk -v s="$pre" 'BEGIN{print s*1000}')" %.2f)"
  echo "$m $gf" >>"$TMP/targets"
done
echo
echo "spread: (max - min) / median over the $REPS runs, the noise of this run."
echo "mm GFLOP/s: eval tokens/s x matmul FLOPs per token (whole-run time, not just the matmuls)."
echo "x naive / x auto / x kernel: that figure over the naive loop / the autovec loop /"
echo "our matmul kernel alone, all from phiq-bench-kernels in this run."
echo "dec GFLOP/s: decode tokens/s x the same FLOPs per token (M = 1 matmuls); $NEW new tokens"
echo "after a 3-token prompt (--ignore-eos); prefill ms: that prompt's forward pass."
echo "target, eval matmul GFLOP/s >= 20 on 2 cores: $(awk '{printf "%s%s %.1f %s", (NR>1?", ":""), $1, $2, ($2>=20?"PASS":"FAIL")}' "$TMP/targets")"
