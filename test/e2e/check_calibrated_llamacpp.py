#!/usr/bin/env python3
"""Calibrated quantization, checked in real llama.cpp.

usage: check_calibrated_llamacpp.py BIN_DIR MODEL_DIR WORK_DIR TYPE
           [--windows N] [--checks ppl,kld,llama]

1. phi-quantize --calib calib_tokens.i32 writes TYPE with importance (and
   keeps the statistics and a llama.cpp GGUF imatrix); phi-quantize without
   --calib writes the round-to-nearest TYPE.
2. phi-run predicts the calibrated file's perplexity from the same
   quantization in the IR (--phiq-quantize-weights imatrix=STATS, scored
   with --llamacpp-arithmetic); llama.cpp loads the file and scores the
   first N held-out windows (default all 32): they must agree within 1e-3.
3. KLD against phi-run's fp32 logits over positions 128..254, in llama.cpp:
   the calibrated file must beat round to nearest.
4. llama.cpp's own quantizer reads PhiQ's imatrix file (as llama-quantize
   reads it; bench/llama_imatrix_quantize.py) and must also beat its own
   quantization without it.
--checks picks which of 2. (ppl), 3. (kld) and 4. (llama) run (default
all). Prints the figures and "PASS" or the failed checks; exits non-zero on
failure.
"""
import json
import os
import subprocess
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "bench"))
from llama_imatrix_quantize import quantize as llama_quantize  # noqa: E402
from quality_table import log_softmax, score_gguf  # noqa: E402


def run(cmd, **kwargs):
    result = subprocess.run([str(c) for c in cmd], capture_output=True, text=True, **kwargs)
    if result.returncode != 0:
        sys.exit("command failed: " + " ".join(map(str, cmd)) + "\n" + result.stderr)
    return result.stdout


def main():
    args = sys.argv[1:]
    windows, checks = 32, {"ppl", "kld", "llama"}
    if "--windows" in args:
        i = args.index("--windows")
        windows = int(args[i + 1])
        del args[i:i + 2]
    if "--checks" in args:
        i = args.index("--checks")
        checks = set(args[i + 1].split(","))
        del args[i:i + 2]
    bin_dir, model, work, qtype = args
    tool = lambda name: os.path.join(bin_dir, name)  # noqa: E731
    os.makedirs(work, exist_ok=True)
    tokens = np.fromfile(os.path.join(model, "reference", "eval_tokens.i32"),
                         dtype="<i4").reshape(-1, 256)[:windows]
    tokens_path = os.path.join(work, "eval.i32")
    tokens.tofile(tokens_path)
    calib = os.path.join(model, "reference", "calib_tokens.i32")
    stats = os.path.join(work, "stats.safetensors")
    imatrix = os.path.join(work, "imatrix.gguf")
    ours = os.path.join(work, f"{qtype}-imatrix.gguf")
    rtn = os.path.join(work, f"{qtype}.gguf")
    run([tool("phi-quantize"), model, "--type", qtype, "--calib", calib, "--calib-stats",
         stats, "--imatrix-out", imatrix, "-o", ours, "--quiet"])
    run([tool("phi-quantize"), model, "--type", qtype, "-o", rtn, "--quiet"])

    ref_path = os.path.join(work, "fp32_logits.f32")
    run([tool("phi-run"), "eval", model, "--tokens", tokens_path, "--logits-out", ref_path,
         "--all-windows"])
    ref = np.fromfile(ref_path, dtype=np.float32).reshape(windows, 256, -1)
    ref_lp = log_softmax(ref[:, 128:255].astype(np.float64))
    scores = {"PhiQ imatrix": score_gguf(ours, tokens, ref_lp)}
    if "kld" in checks:
        scores["PhiQ RTN"] = score_gguf(rtn, tokens, ref_lp)
    if "llama" in checks:
        f32 = os.path.join(work, "F32.gguf")
        run([tool("phi-quantize"), model, "--type", "F32", "-o", f32, "--quiet"])
        for label, matrix in (("llama.cpp", None), ("llama.cpp + PhiQ imatrix", imatrix)):
            path = os.path.join(work, label.replace(" ", "_").replace("+", "") + ".gguf")
            llama_quantize(f32, path, qtype, matrix)
            scores[label] = score_gguf(path, tokens, ref_lp)

    failures = []
    if "ppl" in checks:
        imported = run([tool("phi-translate"), "--import-hf", model])
        module = os.path.join(work, f"{qtype}-imatrix.mlir")
        run([tool("phi-opt"), f"--phiq-quantize-weights=type={qtype} imatrix={stats} "
             f"output={work}/{qtype}.blocks.safetensors", "-o", module], input=imported)
        predicted = json.loads(run([tool("phi-run"), "eval", module, "--tokens",
                                    tokens_path, "--llamacpp-arithmetic", "--json"]))
        rel = abs(predicted["perplexity"] - scores["PhiQ imatrix"]["ppl_all"]) / \
            scores["PhiQ imatrix"]["ppl_all"]
        print(f"{qtype} with importance: llama.cpp ppl "
              f"{scores['PhiQ imatrix']['ppl_all']:.6f}, phi-run ppl "
              f"{predicted['perplexity']:.6f}, rel diff {rel:.2e}")
        if rel > 1e-3:
            failures.append("phi-run and llama.cpp disagree")
    for label, r in scores.items():
        print(f"{label:26} ppl {r['ppl_all']:.4f} kld {r['kld']:.6f} same top {r['same_top']:.2f}%")
    if "kld" in checks and not scores["PhiQ imatrix"]["kld"] < scores["PhiQ RTN"]["kld"]:
        failures.append("importance does not lower PhiQ's KLD")
    if "llama" in checks and \
            not scores["llama.cpp + PhiQ imatrix"]["kld"] < scores["llama.cpp"]["kld"]:
        failures.append("PhiQ's imatrix does not lower llama.cpp's KLD")
    print("FAIL: " + "; ".join(failures) if failures else "PASS")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
