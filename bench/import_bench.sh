#!/usr/bin/env bash
# import_bench.sh - wall time and peak RSS of `phi-translate --import-hf`.
#
# Usage: bench/import_bench.sh [BUILD_DIR] [--full | --no-full] [--keep DIR]
#                              [--reps N]
#   BUILD_DIR   the CMake build folder (default /work/build)
#   --full      also import a generated checkpoint with the real
#               Phi-3.5-mini shapes (~7.6 GB, written by phi-gen-checkpoint);
#               on by default
#   --no-full   only the embedded models/phi35-tiny
#   --keep DIR  use the full-size checkpoint in DIR if one is there, else
#               generate it there; DIR is left in place for the next run
#               (without --keep it goes to a temp dir removed on exit)
#   --reps N    repetitions per timed command, median reported (default 3)
#
# Every import is shown next to reference runs from the same command:
#   start-up    `phi-translate --version`: process start and LLVM/MLIR
#               shared-library loading, the floor any invocation pays
#   read cold   `cat` of every weight byte to /dev/null after dropping the
#               page cache (root only; skipped otherwise)
#   read warm   the same `cat` with the pages cached (memory bandwidth)
# The ratios are the figures to compare across machines: an importer that
# reads nothing eagerly stays near start-up and far below the eager read.
set -euo pipefail

die() { echo "import_bench: $*" >&2; exit 1; }

BUILD=/work/build
FULL=1
KEEP=
REPS=3
while (($#)); do
  case "$1" in
  --full) FULL=1 ;;
  --no-full) FULL=0 ;;
  --keep)
    (($# >= 2)) || die "--keep needs a folder"
    KEEP=$2
    shift
    ;;
  --reps)
    (($# >= 2)) || die "--reps needs a number"
    REPS=$2
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

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
TRANSLATE=$BUILD/bin/phi-translate
OPT=$BUILD/bin/phi-opt
GEN=$BUILD/bin/phi-gen-checkpoint
TINY=$REPO/models/phi35-tiny
for t in "$TRANSLATE" "$OPT"; do
  [[ -x $t ]] || die "$t not found: build it first (cd $BUILD && ninja phi-translate phi-opt phi-gen-checkpoint), or pass the build folder as the first argument"
done
((FULL)) && { [[ -x $GEN ]] || die "$GEN not found: build it (ninja phi-gen-checkpoint) or pass --no-full"; }
[[ -f $TINY/model.safetensors ]] || die "$TINY/model.safetensors missing"

TMP=$(mktemp -d "${TMPDIR:-/tmp}/phiq-import-bench.XXXXXX")
trap 'rm -rf "$TMP"' EXIT

# ---- measuring -------------------------------------------------------------
# run_once CMD... -> "SECONDS RSS_KB" on stdout. Wall time from bash's
# microsecond clock around GNU time (whose %e has 10 ms steps); peak RSS
# (%M, KB) from GNU time, or from getrusage in Python when it is missing.
if [[ -x /usr/bin/time ]]; then
  run_timed() { /usr/bin/time -f '%e %M' -o "$TMP/time.out" "$@"; }
  rss_of_last() { awk '{print $2}' "$TMP/time.out" | tail -n1; }
elif command -v python3 >/dev/null; then
  run_timed() {
    python3 -c '
import resource, subprocess, sys
rc = subprocess.call(sys.argv[2:])
open(sys.argv[1], "w").write("%d\n" % resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
sys.exit(rc)' "$TMP/time.out" "$@"
  }
  rss_of_last() { tail -n1 "$TMP/time.out"; }
else
  die "neither /usr/bin/time nor python3 is available to measure peak RSS"
fi

run_once() {
  local t0 t1
  t0=$EPOCHREALTIME
  if ! run_timed "$@" >"$TMP/cmd.out" 2>"$TMP/cmd.err"; then
    echo "import_bench: command failed: $*" >&2
    tail -n 20 "$TMP/cmd.err" >&2
    exit 1
  fi
  t1=$EPOCHREALTIME
  echo "$(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.6f", b-a}') $(rss_of_last)"
}

# median_of N CMD... -> "MEDIAN_SECONDS MEDIAN_RSS_KB" (each column's
# median on its own)
median_of() {
  local n=$1 i
  shift
  for ((i = 0; i < n; i++)); do run_once "$@"; done >"$TMP/samples"
  local m=$(((n + 1) / 2))
  echo "$(cut -d' ' -f1 "$TMP/samples" | sort -g | sed -n "${m}p") $(cut -d' ' -f2 "$TMP/samples" | sort -g | sed -n "${m}p")"
}

# measure VAR_T VAR_R N CMD...: median of N runs into the two variables
# (a command substitution, so a failing run stops the script).
measure() {
  local out
  out=$(median_of "${@:3}") || exit 1
  read -r "$1" "$2" <<<"$out"
}
# measure1 VAR_T VAR_R 1 CMD...: a single run.
measure1() {
  local out
  out=$(run_once "${@:4}") || exit 1
  read -r "$1" "$2" <<<"$out"
}

CAN_DROP=0
[[ $(id -u) == 0 && -w /proc/sys/vm/drop_caches ]] && CAN_DROP=1
# drop_caches: evict the page cache; returns 1 (and stops trying) if the
# kernel refuses, e.g. a read-only /proc/sys in a container.
drop_caches() {
  ((CAN_DROP)) || return 1
  sync
  if ! (echo 3 >/proc/sys/vm/drop_caches) 2>/dev/null; then
    CAN_DROP=0
    return 1
  fi
  # Bring the tools back so a cold run measures the checkpoint, not the
  # binaries and libLLVM coming off the disk.
  "$TRANSLATE" --version >/dev/null
  "$OPT" --version >/dev/null
  return 0
}

ROWS=() # "label|seconds|rss_kb|note"
row() { ROWS+=("$1|$2|$3|$4"); }
ms() { awk -v s="$1" 'BEGIN{printf "%.1f", s*1000}'; }
mb() { awk -v k="$1" 'BEGIN{printf "%.1f", k*1024/1e6}'; } # KiB -> MB (1e6 B)
ratio() { awk -v a="$1" -v b="$2" 'BEGIN{ if (b>0) printf "%.3g", a/b; else print "n/a"}'; }

bytes_of() { local s=0 f; for f in "$@"; do s=$((s + $(stat -c %s "$f"))); done; echo "$s"; }
human() { awk -v b="$1" 'BEGIN{ if (b>=1e9) printf "%.2f GB", b/1e9; else if (b>=1e6) printf "%.2f MB", b/1e6; else if (b>=1e3) printf "%.1f KB", b/1e3; else printf "%d B", b}'; }

# Round trip: phi-opt parses, verifies and prints the imported IR; printing
# that again must give the same text (a fixpoint), and it must match the
# importer's output up to blank lines.
round_trip_check() {
  local in=$1 a=$TMP/rt1.mlir b=$TMP/rt2.mlir
  "$OPT" "$in" -o "$a"
  "$OPT" "$a" -o "$b"
  cmp -s "$a" "$b" || die "phi-opt output of $in is not a fixpoint"
  diff -qB "$in" "$a" >/dev/null || die "phi-opt changed $in beyond blank lines"
}

echo "import_bench: $(lscpu 2>/dev/null | sed -n 's/^Model name: *//p' | head -n1), $(nproc) cores, $REPS reps (median)"
echo "  build $BUILD, page-cache drop: $( ((CAN_DROP)) && echo 'available (root)' || echo 'not available (not root): cold rows skipped')"

# ---- start-up floor ----------------------------------------------------------
measure T_START R_START "$REPS" "$TRANSLATE" --version
row "phi-translate --version (start-up)" "$T_START" "$R_START" "reference"

# ---- phi35-tiny ----------------------------------------------------------------
TINY_W=("$TINY"/*.safetensors)
TINY_BYTES=$(bytes_of "${TINY_W[@]}")
measure T_TINY R_TINY "$REPS" "$TRANSLATE" --import-hf "$TINY" -o "$TMP/tiny.mlir"
TINY_IR=$(stat -c %s "$TMP/tiny.mlir")
round_trip_check "$TMP/tiny.mlir"
measure T_TINY_RT R_TINY_RT "$REPS" "$OPT" "$TMP/tiny.mlir" -o "$TMP/tiny.rt.mlir"
measure T_TINY_RD R_TINY_RD "$REPS" cat "${TINY_W[@]}"
row "phi35-tiny: import" "$T_TINY" "$R_TINY" "x$(ratio "$T_TINY" "$T_START") start-up, x$(ratio "$T_TINY" "$T_TINY_RD") warm read; IR $(human "$TINY_IR") for $(human "$TINY_BYTES") of weights"
row "phi35-tiny: phi-opt round trip" "$T_TINY_RT" "$R_TINY_RT" "x$(ratio "$T_TINY_RT" "$T_START") start-up"
row "phi35-tiny: cat weights (warm)" "$T_TINY_RD" "$R_TINY_RD" "reference, $(human "$TINY_BYTES")"

# ---- full-size Phi-3.5-mini shapes --------------------------------------------
if ((FULL)); then
  if [[ -n $KEEP ]]; then
    CKPT=$KEEP
  else
    CKPT=$TMP/phi35-mini
  fi
  if [[ -f $CKPT/config.json ]] && compgen -G "$CKPT/*.safetensors" >/dev/null; then
    echo "  reusing the checkpoint in $CKPT"
    T_GEN=
  else
    mkdir -p "$CKPT"
    AVAIL_KB=$(df -Pk "$CKPT" | awk 'NR==2{print $4}')
    ((AVAIL_KB > 16 * 1024 * 1024)) ||
      die "$(df -h "$CKPT" | awk 'NR==2{print $4}') free under $CKPT; the full-size checkpoint needs ~7.6 GB (16 GB free asked for). Free space, point TMPDIR elsewhere, or pass --no-full"
    echo "  generating the Phi-3.5-mini-shaped checkpoint in $CKPT (~7.6 GB)..."
    measure1 T_GEN R_GEN 1 "$GEN" --preset=phi3.5-mini -o "$CKPT"
  fi
  FULL_W=("$CKPT"/*.safetensors)
  FULL_BYTES=$(bytes_of "${FULL_W[@]}")

  # Cold: checkpoint pages evicted, once each (the second run would be warm).
  T_IMP_COLD= T_RD_COLD=
  if drop_caches; then
    measure1 T_IMP_COLD R_IMP_COLD 1 "$TRANSLATE" --import-hf "$CKPT" -o "$TMP/full.mlir"
    drop_caches
    measure1 T_RD_COLD R_RD_COLD 1 cat "${FULL_W[@]}"
  fi
  # Warm: after the cold read every page is cached (if memory allows).
  measure T_RD_WARM R_RD_WARM "$REPS" cat "${FULL_W[@]}"
  measure T_FULL R_FULL "$REPS" "$TRANSLATE" --import-hf "$CKPT" -o "$TMP/full.mlir"
  FULL_IR=$(stat -c %s "$TMP/full.mlir")
  round_trip_check "$TMP/full.mlir"
  measure T_FULL_RT R_FULL_RT "$REPS" "$OPT" "$TMP/full.mlir" -o "$TMP/full.rt.mlir"

  if [[ -n $T_GEN ]]; then
    row "phi3.5-mini: generate checkpoint" "$T_GEN" "$R_GEN" "setup only, $(human "$FULL_BYTES") in ${#FULL_W[@]} shards"
  fi
  if [[ -n $T_IMP_COLD ]]; then
    row "phi3.5-mini: import (cold cache, 1 run)" "$T_IMP_COLD" "$R_IMP_COLD" "x$(ratio "$T_IMP_COLD" "$T_RD_COLD") cold read"
  fi
  row "phi3.5-mini: import" "$T_FULL" "$R_FULL" "x$(ratio "$T_FULL" "$T_START") start-up$([[ -n $T_RD_COLD ]] && echo ", x$(ratio "$T_FULL" "$T_RD_COLD") cold read"), x$(ratio "$T_FULL" "$T_RD_WARM") warm read"
  row "phi3.5-mini: phi-opt round trip" "$T_FULL_RT" "$R_FULL_RT" "x$(ratio "$T_FULL_RT" "$T_START") start-up; IR $(human "$FULL_IR")"
  if [[ -n $T_RD_COLD ]]; then
    row "phi3.5-mini: cat weights (cold cache)" "$T_RD_COLD" "$R_RD_COLD" "reference, $(awk -v b="$FULL_BYTES" -v s="$T_RD_COLD" 'BEGIN{printf "%.2f GB/s", b/s/1e9}')"
  fi
  row "phi3.5-mini: cat weights (warm)" "$T_RD_WARM" "$R_RD_WARM" "reference, $(awk -v b="$FULL_BYTES" -v s="$T_RD_WARM" 'BEGIN{printf "%.2f GB/s", b/s/1e9}')"
fi

# ---- table ---------------------------------------------------------------------
echo
printf '%-40s %10s %9s  %s\n' "command" "time ms" "RSS MB" "vs references (same run)"
printf '%-40s %10s %9s  %s\n' "----------------------------------------" "----------" "---------" "------------------------"
for r in "${ROWS[@]}"; do
  IFS='|' read -r label secs rss note <<<"$r"
  rssmb=$( ((rss > 0)) && mb "$rss" || echo "-")
  printf '%-40s %10s %9s  %s\n' "$label" "$(ms "$secs")" "$rssmb" "$note"
done
echo
echo "import own cost (minus start-up): phi35-tiny $(ms "$(awk -v a="$T_TINY" -v b="$T_START" 'BEGIN{print a-b}')") ms$(
  ((FULL)) && echo ", phi3.5-mini $(ms "$(awk -v a="$T_FULL" -v b="$T_START" 'BEGIN{print a-b}')") ms")"
if ((FULL)); then
  verdict() { awk -v v="$1" -v lim="$2" 'BEGIN{print (v<lim) ? "PASS" : "FAIL"}'; }
  echo "targets, full-size import: time $(ms "$T_FULL") ms < 1000 ms: $(verdict "$T_FULL" 1.0);" \
    "peak RSS $(mb "$R_FULL") MB < 100 MB: $(verdict "$(mb "$R_FULL")" 100);" \
    "IR $(human "$FULL_IR") = $(awk -v a="$FULL_IR" -v b="$FULL_BYTES" 'BEGIN{printf "%.2g", a/b}') of the weight bytes"
  if [[ -n $T_IMP_COLD ]]; then
    echo "  cold-cache import $(ms "$T_IMP_COLD") ms: $(verdict "$T_IMP_COLD" 1.0)"
  fi
fi
