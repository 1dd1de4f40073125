#!/usr/bin/env python3
"""Mixed precision by measured sensitivity (target-bpw) against fixed mixes,
each GGUF scored in llama.cpp.

usage: mixed_precision.py BIN_DIR MODEL_DIR WORK_DIR [--base TYPE] [--pure]
                          [--algorithms rtn,gptq] [--formats F,F,...]
                          [--extra LABEL=OPTIONS ...]

1. Calibrates on reference/calib_tokens.i32 with --phiq-calibrate
   (seq-len 512, hessian=true).
2. Quantizes with --phiq-quantize-weights type=BASE (llama-quantize's mixture
   rules, or one format with --pure), once per algorithm (rtn: the format's
   search weighted by the importance; gptq), writing report= folders: the
   report's tensor bytes over the model's parameters is BASE's tensor-data
   bpw, B.
3. Quantizes with target-bpw=B (floored to 1e-4, so never more bits than
   BASE) per algorithm and per sensitivity (relative, output), formats
   chosen from --formats (default: the pass's).
4. Every file is written as GGUF by phi-translate and scored in llama.cpp
   (llama-cpp-python, n_ctx 256) on reference/eval_tokens.i32 (32 x 256):
   perplexity, KL divergence against phi-run's fp32 logits and same-top-token
   rate over positions 128..254 (docs/Calibration.md's definitions).
Prints a Markdown table: bpw tensors (tensor data x 8 / parameters, what
target-bpw budgets), bpw file (the whole GGUF, header and tokenizer
included), PPL, KLD, same top %. The report folders stay in WORK_DIR.
"""
import argparse
import json
import math
import os
import subprocess
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from gptq_quality import llama_logits, scores  # noqa: E402
from quality_table import log_softmax  # noqa: E402


def run(*args):
    subprocess.run([str(a) for a in args], check=True, capture_output=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("bin_dir")
    ap.add_argument("model")
    ap.add_argument("work")
    ap.add_argument("--base", default="Q4_K_M")
    ap.add_argument("--pure", action="store_true")
    ap.add_argument("--algorithms", default="rtn,gptq")
    ap.add_argument("--formats", default="")
    ap.add_argument("--sensitivities", default="relative,output")
    ap.add_argument("--stats", help="reuse this --phiq-calibrate store "
                    "(with Hessians) instead of calibrating")
    ap.add_argument("--extra", action="append", default=[],
                    help="LABEL=PASS OPTIONS, another row (rtn)")
    a = ap.parse_args()
    os.makedirs(a.work, exist_ok=True)
    b = lambda tool: os.path.join(a.bin_dir, tool)  # noqa: E731

    f32 = os.path.join(a.work, "f32.mlir")
    run(b("phi-translate"), "--import-hf", a.model, "-o", f32)
    stats = a.stats
    if not stats:
        stats = os.path.join(a.work, "stats.safetensors")
        calib = os.path.join(a.model, "reference", "calib_tokens.i32")
        start = time.time()
        run(b("phi-opt"), f32, f"--phiq-calibrate=tokens={calib} seq-len=512 "
            f"hessian=true output={stats}", "-o", os.devnull)
        print(f"calibration with Hessians: {time.time() - start:.1f} s wall",
              flush=True)

    tokens_path = os.path.join(a.model, "reference", "eval_tokens.i32")
    tokens = np.fromfile(tokens_path, dtype="<i4").reshape(-1, 256)
    B, T = tokens.shape
    ref_path = os.path.join(a.work, "fp32_logits.f32")
    run(b("phi-run"), "eval", a.model, "--tokens", tokens_path, "--logits-out",
        ref_path, "--all-windows")
    ref = np.fromfile(ref_path, dtype=np.float32).reshape(B, T, -1)
    ref_lp = log_softmax(ref[:, 128:255].astype(np.float64))
    with open(os.path.join(a.model, "model.safetensors"), "rb") as f:
        size = int.from_bytes(f.read(8), "little")
        params = sum(int(np.prod(v["shape"])) for k, v in json.loads(f.read(size)).items()
                     if k != "__metadata__")

    algorithm = {"rtn": f"imatrix={stats}",
                 "gptq": f"algorithm=gptq calibration={stats}"}
    pure = " pure=true" if a.pure else ""

    def row(label, options):
        tag = label.replace(" ", "_").replace("=", "").replace(",", "_")
        store = os.path.join(a.work, tag + ".safetensors")
        module = os.path.join(a.work, tag + ".mlir")
        report = os.path.join(a.work, tag + "-report")
        start = time.time()
        run(b("phi-opt"), f32, f"--phiq-quantize-weights={options} "
            f"calibration={stats} output={store} report={report}", "-o", module)
        seconds = time.time() - start
        with open(os.path.join(report, "report.json")) as f:
            rep = json.load(f)
        bpw = 8 * rep["tensor_bytes"] / rep["parameters"]
        path = os.path.join(a.work, tag + ".gguf")
        run(b("phi-translate"), "--phi-to-gguf", module, "-o", path)
        ppl, kld, same = scores(llama_logits(path, tokens), tokens, ref_lp)
        print(f"| {label} | {bpw:.4f} | {os.path.getsize(path) * 8 / params:.4f} | "
              f"{ppl:.6f} | {kld:.6f} | {same:.3f} | {seconds:.1f} |", flush=True)
        return bpw

    print("| file | bpw tensors | bpw file | PPL 128..254 | KLD vs fp32 "
          "| same top % | phi-opt wall s |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    target = None
    for alg in a.algorithms.split(","):
        bpw = row(f"{a.base}{pure and ' pure'} {alg}",
                  f"type={a.base}{pure} {algorithm[alg]}")
        target = bpw if target is None else min(target, bpw)
    for item in a.extra:
        label, options = item.split("=", 1)
        row(label, f"{options} {algorithm['rtn']}")
    target = math.floor(target * 1e4) / 1e4
    formats = f" mixed-formats={a.formats}" if a.formats else ""
    for sensitivity in a.sensitivities.split(","):
        for alg in a.algorithms.split(","):
            row(f"target-bpw={target} {alg} {sensitivity}",
                f"type={a.base}{pure} target-bpw={target}{formats} "
                f"sensitivity={sensitivity} {algorithm[alg]}")


if __name__ == "__main__":
    main()
