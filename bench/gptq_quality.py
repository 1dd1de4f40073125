#!/usr/bin/env python3
"""GPTQ against round-to-nearest, each file scored by its real runtime.

usage: gptq_quality.py BIN_DIR MODEL_DIR WORK_DIR [--calibration STORE]
                       [--gguf TYPES] [--onnx LABELS] [--algorithms A,B]

Calibration: the side store STORE (from --phiq-calibrate), or, without one,
test/e2e/phi3_activations.py's numpy forward pass over the model's
reference/calib_tokens.i32 (64 x 256 tokens, disjoint from the eval split).
Each GGUF type (default Q4_0, Q4_K_M, IQ4_NL, Q3_K_M) and each ONNX int4
export (default g32 asym, g128 asym) is written once per algorithm:
  rtn        --phiq-quantize-*'s default (the format's own scale search)
  gptq       algorithm=gptq
  gptq-act   algorithm=gptq gptq-act-order=true
  awq        algorithm=awq
  awq+gptq   algorithm=awq+gptq
  NAME       any --variant NAME=OPTIONS (e.g. GPTQ with gptq-refits=2)
With --rotate SEED the model first gets --phiq-rotate-residual (and, unless
--calibration is given, is calibrated after the rotation with
--phiq-calibrate); the KLD stays against the unrotated fp32 model's logits.
GGUF files are scored in llama.cpp (llama-cpp-python, n_ctx 256, 2
threads), ONNX folders in onnxruntime, over the 32 x 256 eval windows;
reported as in bench/quality_table.py: bits per weight of the file,
perplexity over positions 128..254, and against phi-run's fp32 logits the
mean KL divergence and the share of unchanged top tokens (positions
128..254, the definitions of shared/validators/ANCHOR_RESULTS.md). The
quantization time of each row (phi-opt, wall clock) is printed too.
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
from onnx_quality_table import logits_of  # noqa: E402
from quality_table import log_softmax  # noqa: E402

ALGORITHMS = {
    "rtn": "",
    "gptq": "algorithm=gptq calibration={cal}",
    "gptq-act": "algorithm=gptq gptq-act-order=true calibration={cal}",
    "awq": "algorithm=awq calibration={cal}",
    "awq+gptq": "algorithm=awq+gptq calibration={cal}",
}
ONNX = {
    "int4-g32-asym": "bits=4 block-size=32 symmetric=false",
    "int4-g128-asym": "bits=4 block-size=128 symmetric=false",
}


def run(*args):
    subprocess.run([str(a) for a in args], check=True, capture_output=True)


def llama_logits(gguf, tokens):
    from llama_cpp import Llama
    B, T = tokens.shape
    llm = Llama(model_path=gguf, n_ctx=T, n_batch=T, n_ubatch=T,
                logits_all=True, n_threads=2, verbose=False)
    out = []
    for b in range(B):
        llm.reset()
        llm.eval(tokens[b].tolist())
        out.append(np.asarray(llm.scores[:T], dtype=np.float64))
    del llm
    return np.stack(out)


def scores(logits, tokens, ref_lp):
    lp = log_softmax(logits)
    picked = np.take_along_axis(lp[:, :-1], tokens[:, 1:, None], axis=-1)[..., 0]
    q = lp[:, 128:255]
    kld = float((np.exp(ref_lp) * (ref_lp - q)).sum(-1).mean())
    same = 100.0 * float((ref_lp.argmax(-1) == q.argmax(-1)).mean())
    return math.exp(-picked[:, 128:255].mean()), kld, same


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("bin_dir")
    ap.add_argument("model")
    ap.add_argument("work")
    ap.add_argument("--calibration")
    ap.add_argument("--reference", help="model folder whose fp32 logits the KLD is "
                    "measured against (default: MODEL_DIR; e.g. the unrotated model)")
    ap.add_argument("--gguf", default="Q4_0,Q4_K_M,IQ4_NL,Q3_K_M")
    ap.add_argument("--onnx", default=",".join(ONNX))
    ap.add_argument("--algorithms", default="rtn,gptq,gptq-act,awq,awq+gptq")
    ap.add_argument("--rotate", type=int, metavar="SEED",
                    help="fold --phiq-rotate-residual (this seed) into the model first and "
                         "calibrate the rotated model with --phiq-calibrate (64 x 256 "
                         "tokens of reference/calib_tokens.i32)")
    ap.add_argument("--variant", action="append", default=[], metavar="NAME=OPTIONS",
                    help="another algorithm row: pass options, {cal} is the store "
                         "(e.g. 'refit2=algorithm=gptq gptq-refits=2 calibration={cal}')")
    a = ap.parse_args()
    for v in a.variant:
        name, _, opts = v.partition("=")
        ALGORITHMS[name] = opts
    os.makedirs(a.work, exist_ok=True)
    b = lambda tool: os.path.join(a.bin_dir, tool)  # noqa: E731
    cal = a.calibration
    if not cal and a.rotate is None:
        cal = os.path.join(a.work, "calibration.safetensors")
        start = time.time()
        run(sys.executable, os.path.join(HERE, "..", "test", "e2e", "phi3_activations.py"),
            a.model, os.path.join(a.model, "reference", "calib_tokens.i32"), cal)
        print(f"calibration (numpy, 64 x 256 tokens): {time.time() - start:.1f} s")
    tokens_path = os.path.join(a.model, "reference", "eval_tokens.i32")
    tokens = np.fromfile(tokens_path, dtype="<i4").reshape(-1, 256)
    B, T = tokens.shape
    ref_path = os.path.join(a.work, "fp32_logits.f32")
    run(b("phi-run"), "eval", a.reference or a.model, "--tokens", tokens_path, "--logits-out",
        ref_path, "--all-windows")
    ref = np.fromfile(ref_path, dtype=np.float32).reshape(B, T, -1)
    ref_lp = log_softmax(ref[:, 128:255].astype(np.float64))
    with open(os.path.join(a.model, "model.safetensors"), "rb") as f:
        size = int.from_bytes(f.read(8), "little")
        params = sum(int(np.prod(v["shape"])) for k, v in json.loads(f.read(size)).items()
                     if k != "__metadata__")
    f32 = os.path.join(a.work, "f32.mlir")
    run(b("phi-translate"), "--import-hf", a.model, "-o", f32)
    if a.rotate is not None:
        rotated = os.path.join(a.work, f"rotated{a.rotate}.mlir")
        run(b("phi-opt"), f32, "--phiq-rotate-residual=output=" +
            os.path.join(a.work, f"rotated{a.rotate}.safetensors") + f" seed={a.rotate}",
            "-o", rotated)
        f32 = rotated
        if not cal:
            cal = os.path.join(a.work, f"calibration-rotated{a.rotate}.safetensors")
            start = time.time()
            calib_tokens = os.path.join(a.model, "reference", "calib_tokens.i32")
            run(b("phi-opt"), f32, f"--phiq-calibrate=tokens={calib_tokens} seq-len=256 "
                f"hessian=true output={cal}", "-o", os.devnull)
            print(f"calibration of the rotated model (phi-opt, 64 x 256 tokens): "
                  f"{time.time() - start:.1f} s")

    print("| format | algorithm | bpw file | PPL 128..254 | KLD vs fp32 | same top % "
          "| quantize s |")
    print("|---|---|---:|---:|---:|---:|---:|")
    jobs = [("gguf", t) for t in a.gguf.split(",") if t] + \
           [("onnx", o) for o in a.onnx.split(",") if o]
    for kind, fmt in jobs:
        for alg in a.algorithms.split(","):
            tag = f"{fmt}-{alg}"
            store = os.path.join(a.work, tag + ".safetensors")
            module = os.path.join(a.work, tag + ".mlir")
            extra = ALGORITHMS[alg].format(cal=cal)
            if kind == "gguf":
                options = f"type={fmt} {extra} output={store}"
                flag = f"--phiq-quantize-weights={options}"
            else:
                flag = f"--phiq-quantize-onnx={ONNX[fmt]} {extra} output={store}"
            start = time.time()
            run(b("phi-opt"), f32, flag, "-o", module)
            seconds = time.time() - start
            if kind == "gguf":
                path = os.path.join(a.work, tag + ".gguf")
                run(b("phi-translate"), "--phi-to-gguf", module, "-o", path)
                nbytes = os.path.getsize(path)
                logits = llama_logits(path, tokens)
            else:
                path = os.path.join(a.work, tag)
                run(b("phi-translate"), "--phi-to-onnx", module, "--onnx-out", path,
                    "-o", os.devnull)
                nbytes = sum(os.path.getsize(os.path.join(path, f))
                             for f in ("model.onnx", "model.onnx.data"))
                logits = logits_of(path, tokens)
            ppl, kld, same = scores(logits, tokens, ref_lp)
            print(f"| {fmt} | {alg} | {nbytes * 8 / params:.3f} | {ppl:.6f} | "
                  f"{kld:.6f} | {same:.3f} | {seconds:.1f} |", flush=True)


if __name__ == "__main__":
    main()
