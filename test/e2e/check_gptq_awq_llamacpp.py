#!/usr/bin/env python3
"""Calibrated quantization (GPTQ, AWQ) of a Phi-3 model, checked in llama.cpp.

usage: check_gptq_awq_llamacpp.py BIN_DIR MODEL_DIR WORK_DIR TYPE
           ALGORITHM [ALGORITHM ...] [--windows N] [--calib-windows N]

Calibrates on the first --calib-windows windows of reference/calib_tokens.i32
(--phiq-calibrate with hessian=true), then for round-to-nearest and each ALGORITHM writes a
TYPE GGUF file (--phiq-quantize-weights pure=true, packed in the pass,
--phi-to-gguf) and scores it in real llama.cpp on the first --windows eval
windows. For each calibrated file: llama.cpp's perplexity must agree with
phi-run's --llamacpp-arithmetic prediction within 1e-3 (relative), and its
mean KL divergence from phi-run's fp32 logits over positions 128..254 must be
below the round-to-nearest file's.
"""
import json
import os
import subprocess
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))


def run(args, **kw):
    return subprocess.run([str(a) for a in args], check=True, capture_output=True,
                          text=True, **kw).stdout


def log_softmax(x):
    m = x.max(axis=-1, keepdims=True)
    return x - m - np.log(np.exp(x - m).sum(axis=-1, keepdims=True))


def llama_eval(gguf, tokens):
    from llama_cpp import Llama
    B, T = tokens.shape
    llm = Llama(model_path=gguf, n_ctx=T, n_batch=T, n_ubatch=T, logits_all=True,
                n_threads=2, verbose=False, seed=0)
    lps = []
    for b in range(B):
        llm.reset()
        llm.eval(tokens[b].tolist())
        lps.append(log_softmax(np.asarray(llm.scores[:T], dtype=np.float64)))
    lp = np.stack(lps)
    nll = -np.take_along_axis(lp[:, :-1], tokens[:, 1:, None], axis=-1)[..., 0]
    return float(np.exp(nll.mean())), lp


def main():
    args = sys.argv[1:]
    windows, calib_windows = 8, 16
    if "--windows" in args:
        i = args.index("--windows")
        windows = int(args[i + 1])
        del args[i:i + 2]
    if "--calib-windows" in args:
        i = args.index("--calib-windows")
        calib_windows = int(args[i + 1])
        del args[i:i + 2]
    bin_dir, model, work, qtype = args[:4]
    algorithms = args[4:]
    b = lambda tool: os.path.join(bin_dir, tool)  # noqa: E731
    os.makedirs(work, exist_ok=True)
    calib_tokens = os.path.join(work, "calib_tokens.i32")
    np.fromfile(os.path.join(model, "reference", "calib_tokens.i32"), "<i4").reshape(
        -1, 256)[:calib_windows].tofile(calib_tokens)
    calib = os.path.join(work, "calibration.safetensors")
    imported = os.path.join(work, "imported.mlir")
    run([b("phi-translate"), "--import-hf", model, "-o", imported])
    run([b("phi-opt"), imported, f"--phiq-calibrate=tokens={calib_tokens} seq-len=256 "
         f"hessian=true output={calib}", "-o", os.devnull])
    tokens = np.fromfile(os.path.join(model, "reference", "eval_tokens.i32"),
                         "<i4").reshape(-1, 256)[:windows]
    tokens_path = os.path.join(work, "eval_tokens.i32")
    tokens.tofile(tokens_path)
    ref_path = os.path.join(work, "fp32_logits.f32")
    run([b("phi-run"), "eval", model, "--tokens", tokens_path, "--logits-out", ref_path,
         "--all-windows"])
    ref = np.fromfile(ref_path, np.float32).reshape(windows, 256, -1)
    ref_lp = log_softmax(ref[:, 128:255].astype(np.float64))
    f32 = os.path.join(work, "f32.mlir")
    run([b("phi-translate"), "--import-hf", model, "-o", f32])

    failures = 0
    kld = {}
    for alg in ["rtn"] + algorithms:
        tag = alg.replace("+", "-")
        extra = "" if alg == "rtn" else f"algorithm={alg} calibration={calib} "
        module = os.path.join(work, tag + ".mlir")
        run([b("phi-opt"), f32, f"--phiq-quantize-weights=type={qtype} pure=true "
             f"{extra}output={os.path.join(work, tag + '.safetensors')}", "-o", module])
        gguf = os.path.join(work, tag + ".gguf")
        run([b("phi-translate"), "--phi-to-gguf", module, "-o", gguf])
        ppl, lp = llama_eval(gguf, tokens)
        q = lp[:, 128:255]
        kld[alg] = float((np.exp(ref_lp) * (ref_lp - q)).sum(-1).mean())
        if alg == "rtn":
            print(f"rtn ppl llama.cpp {ppl:.6f} kld {kld[alg]:.6f}")
            continue
        ours = json.loads(run([b("phi-run"), "eval", module, "--tokens", tokens_path,
                               "--llamacpp-arithmetic", "--json"]))["perplexity"]
        rel = abs(ours - ppl) / ppl
        ok = rel <= 1e-3
        failures += not ok
        print(f"{alg} ppl llama.cpp {ppl:.6f} phi-run {ours:.6f} rel {rel:.2e} "
              f"{'ok' if ok else 'MISMATCH'}")
        ok = kld[alg] < kld["rtn"]
        failures += not ok
        print(f"kld {alg} {kld[alg]:.6f} < rtn {kld['rtn']:.6f} "
              f"{'ok' if ok else 'NOT BELOW'}")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
