#!/usr/bin/env python3
"""Importance-weighted quantization against round-to-nearest, in real runtimes.

usage: calibration_table.py BIN_DIR MODEL_DIR WORK_DIR [TYPE ...]
       (default types: Q4_0 Q4_K_M IQ4_NL Q3_K_M)

1. Calibrates MODEL_DIR on reference/calib_tokens.i32 (--phiq-calibrate,
   windows of 512 tokens as llama-imatrix's default chunk), writing PhiQ's
   statistics store and a llama.cpp GGUF imatrix; prints the time.
2. For each llama.cpp file type, four GGUF files, every one loaded and
   scored by llama.cpp (llama-cpp-python, n_ctx 256, 2 threads) on the
   32 x 256 held-out windows of reference/eval_tokens.i32:
     PhiQ RTN            phi-quantize --type T
     PhiQ imatrix        phi-quantize --type T --imatrix STATS
     llama.cpp           llama.cpp's quantizer on PhiQ's F32 GGUF
     llama.cpp imatrix   the same with PhiQ's imatrix file (read as
                         llama-quantize reads it; bench/llama_imatrix_quantize.py)
3. ONNX int4 (MatMulNBits, blocks of 32, asymmetric): RTN (ORT's rule) and
   with importance, scored by ONNX Runtime.
Reported per file: bits per weight of the file (bytes x 8 over the model's
parameters), perplexity over all 32 x 255 predictions and over positions
128..254, and against phi-run's fp32 logits the mean KL divergence and the
share of unchanged top tokens over positions 128..254 (the definitions of
shared/validators/ANCHOR_RESULTS.md, bench/quality_table.py).
"""
import json
import os
import subprocess
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from quality_table import log_softmax, score_gguf  # noqa: E402
from llama_imatrix_quantize import quantize as llama_quantize  # noqa: E402

TYPES = ["Q4_0", "Q4_K_M", "IQ4_NL", "Q3_K_M"]


def run(*args):
    subprocess.run([str(a) for a in args], check=True, capture_output=True)


def main():
    bin_dir, model, work = sys.argv[1:4]
    types = sys.argv[4:] or TYPES
    bin_ = lambda tool: os.path.join(bin_dir, tool)  # noqa: E731
    os.makedirs(work, exist_ok=True)
    tokens_path = os.path.join(model, "reference", "eval_tokens.i32")
    calib = os.path.join(model, "reference", "calib_tokens.i32")
    tokens = np.fromfile(tokens_path, dtype="<i4").reshape(-1, 256)
    B, T = tokens.shape
    ref_path = os.path.join(work, "fp32_logits.f32")
    run(bin_("phi-run"), "eval", model, "--tokens", tokens_path,
        "--logits-out", ref_path, "--all-windows")
    ref = np.fromfile(ref_path, dtype=np.float32).reshape(B, T, -1)
    ref_lp = log_softmax(ref[:, 128:255].astype(np.float64))
    with open(os.path.join(model, "model.safetensors"), "rb") as f:
        size = int.from_bytes(f.read(8), "little")
        params = sum(int(np.prod(v["shape"])) for k, v in json.loads(f.read(size)).items()
                     if k != "__metadata__")

    f32 = os.path.join(work, "f32.mlir")
    run(bin_("phi-translate"), "--import-hf", model, "-o", f32)
    stats = os.path.join(work, "stats.safetensors")
    imatrix = os.path.join(work, "imatrix.gguf")
    start = time.time()
    run(bin_("phi-opt"), f32, f"--phiq-calibrate=tokens={calib} seq-len=512 "
        f"output={stats} imatrix={imatrix}", "-o", os.devnull)
    ncalib = os.path.getsize(calib) // 4 // 512 * 512
    print(f"calibration: {ncalib} tokens of {os.path.basename(calib)} in "
          f"{time.time() - start:.2f} s\n")
    f32_gguf = os.path.join(work, "F32.gguf")
    run(bin_("phi-quantize"), model, "--type", "F32", "-o", f32_gguf, "--quiet")

    print("| format | quantizer | bpw file | PPL all | PPL 128..254 | KLD vs fp32 | same top % |")
    print("|---|---|---:|---:|---:|---:|---:|")

    def row(fmt, label, path, r):
        nbytes = (os.path.getsize(path) if os.path.isfile(path) else
                  sum(os.path.getsize(os.path.join(path, f))
                      for f in ("model.onnx", "model.onnx.data")))
        print(f"| {fmt} | {label} | {nbytes * 8 / params:.2f} | {r['ppl_all']:.4f} | "
              f"{r['ppl_half']:.6f} | {r['kld']:.6f} | {r['same_top']:.3f} |", flush=True)

    for t in types:
        files = []
        out = os.path.join(work, f"{t}-phiq-rtn.gguf")
        run(bin_("phi-quantize"), model, "--type", t, "-o", out, "--quiet")
        files.append(("PhiQ RTN", out))
        out = os.path.join(work, f"{t}-phiq-imatrix.gguf")
        run(bin_("phi-quantize"), model, "--type", t, "--imatrix", stats, "-o", out, "--quiet")
        files.append(("PhiQ imatrix", out))
        out = os.path.join(work, f"{t}-llamacpp.gguf")
        llama_quantize(f32_gguf, out, t)
        files.append(("llama.cpp", out))
        out = os.path.join(work, f"{t}-llamacpp-imatrix.gguf")
        llama_quantize(f32_gguf, out, t, imatrix)
        files.append(("llama.cpp + PhiQ imatrix", out))
        for label, path in files:
            row(t, label, path, score_gguf(path, tokens, ref_lp))

    from onnx_quality_table import logits_of  # onnx, onnxruntime
    for label, extra in (("PhiQ RTN (ORT's rule)", ""), ("PhiQ imatrix", f" imatrix={stats}")):
        tag = "int4-g32-asym" + ("-imatrix" if extra else "")
        module = os.path.join(work, f"{tag}.mlir")
        run(bin_("phi-opt"), f32,
            f"--phiq-quantize-onnx=bits=4 block-size=32 symmetric=false{extra}", "-o", module)
        folder = os.path.join(work, tag)
        run(bin_("phi-translate"), "--phi-to-onnx", module, "--onnx-out", folder,
            "--onnx-precision=fp32", "-o", os.devnull)
        lp = log_softmax(logits_of(folder, tokens))
        picked = np.take_along_axis(lp[:, :-1], tokens[:, 1:, None], axis=-1)[..., 0]
        q = lp[:, 128:255]
        r = {"ppl_all": float(np.exp(-picked.mean())),
             "ppl_half": float(np.exp(-picked[:, 128:255].mean())),
             "kld": float((np.exp(ref_lp) * (ref_lp - q)).sum(-1).mean()),
             "same_top": 100.0 * float((ref_lp.argmax(-1) == q.argmax(-1)).mean())}
        row("ONNX int4 g32 asym", label, folder, r)


if __name__ == "__main__":
    main()
