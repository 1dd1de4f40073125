#!/usr/bin/env python3
"""Quality of PhiQ's MLX folders next to mlx-lm's own, measured in mlx-lm.

usage: mlx_quality_table.py BIN_DIR MODEL_DIR WORK_DIR [WINDOWS]

Rows, all made in this run from MODEL_DIR:
  - PhiQ bf16: `phi-quantize --to mlx --type BF16` (the checkpoint's weights);
  - PhiQ 4-bit g64 / 8-bit g64: `phi-quantize --to mlx --type INT4|INT8
    --group-size 64` (--phiq-quantize-mlx: every linear, the router, the
    embedding and the lm_head);
  - mlx-lm 4-bit g64 / 8-bit g64: `mlx_lm.convert -q --q-bits N
    --q-group-size 64`, mlx-lm's own quantizer on the same checkpoint.
mlx-lm 0.32 on mlx-cpu 0.32 loads every folder with mlx_lm.load, widens the
float parameters to fp32 (exact; mlx's bf16 matmuls would otherwise add
their own error) and scores the first WINDOWS (default all 32) of the
held-out 256-token windows in full-sequence passes. Reported: model.safetensors bytes, bits per weight of the file
(bytes x 8 over the model's parameters) and of the quantized modules
(weight + scales + biases over their weights' elements), perplexity over
all 32 x 255 predictions and over positions 128..254, and against phi-run's
fp32 logits (of the module mlx-lm computes: longrope's long factors at every
length, as mlx-lm's SuScaledRoPE does) the mean KL divergence and the share
of unchanged top tokens over positions 128..254 (the definitions of
shared/validators/ANCHOR_RESULTS.md, as in onnx_quality_table.py).
"""
import json
import math
import os
import re
import shutil
import subprocess
import sys

import numpy as np


def log_softmax(x):
    m = x.max(axis=-1, keepdims=True)
    return x - m - np.log(np.exp(x - m).sum(axis=-1, keepdims=True))


def run(*args):
    subprocess.run([str(a) for a in args], check=True, capture_output=True)


def logits_of(folder, tokens):
    import mlx.core as mx
    from mlx_lm import load
    model, _ = load(folder)
    model.set_dtype(mx.float32)
    out = []
    for start in range(0, tokens.shape[0], 8):
        out.append(np.array(model(mx.array(tokens[start:start + 8])), np.float64))
    return np.concatenate(out)


def quantized_bits(folder):
    """Bits per weight of the quantized modules (weight, scales, biases)."""
    import mlx.core as mx
    config = json.load(open(os.path.join(folder, "config.json")))
    quantization = config.get("quantization")
    if not quantization:
        return None
    tensors = mx.load(os.path.join(folder, "model.safetensors"))
    nbytes = elements = 0
    for name, scales in tensors.items():
        if not name.endswith(".scales"):
            continue
        module = name[:-len(".scales")]
        bits = quantization.get(module, quantization)["bits"]
        weight = tensors[module + ".weight"]
        elements += weight.size * 32 // bits
        nbytes += weight.nbytes + scales.nbytes + tensors[module + ".biases"].nbytes
    return nbytes * 8 / elements


def main():
    bin_dir, model, work = sys.argv[1:4]
    windows = int(sys.argv[4]) if len(sys.argv) > 4 else None
    os.makedirs(work, exist_ok=True)
    tokens_path = os.path.join(model, "reference", "eval_tokens.i32")
    tokens = np.fromfile(tokens_path, dtype="<i4").reshape(-1, 256)[:windows]
    B, T = tokens.shape
    if windows:
        tokens_path = os.path.join(work, "eval_tokens.i32")
        tokens.tofile(tokens_path)
    # The fp32 reference as mlx-lm computes it: longrope with the long
    # factors at every length (mlx_lm's SuScaledRoPE), i.e. phi-run on the
    # checkpoint's module with its short factors replaced by the long ones.
    f32 = os.path.join(work, "f32.mlir")
    run(os.path.join(bin_dir, "phi-translate"), "--import-hf", model, "-o", f32)
    text = open(f32).read()
    text = re.sub(r"short_factor = (\[[^\]]*\]), long_factor = (\[[^\]]*\])",
                  lambda m: f"short_factor = {m[2]}, long_factor = {m[2]}", text)
    open(f32, "w").write(text)
    ref_path = os.path.join(work, "fp32_logits.f32")
    run(os.path.join(bin_dir, "phi-run"), "eval", f32, "--tokens", tokens_path,
        "--logits-out", ref_path, "--all-windows")
    ref = np.fromfile(ref_path, dtype=np.float32).reshape(B, T, -1)
    ref_lp = log_softmax(ref[:, 128:255].astype(np.float64))
    header = open(os.path.join(model, "model.safetensors"), "rb")
    size = int.from_bytes(header.read(8), "little")
    params = sum(int(np.prod(v["shape"])) for k, v in json.loads(header.read(size)).items()
                 if k != "__metadata__")

    rows = []
    for label, kind, arg in [("PhiQ bf16", "phiq", ["--type", "BF16"]),
                             ("PhiQ 4-bit g64", "phiq", ["--type", "INT4", "--group-size", "64"]),
                             ("mlx-lm convert -q 4-bit g64", "mlx", ["4"]),
                             ("PhiQ 8-bit g64", "phiq", ["--type", "INT8", "--group-size", "64"]),
                             ("mlx-lm convert -q 8-bit g64", "mlx", ["8"])]:
        folder = os.path.join(work, label.replace(" ", "-"))
        shutil.rmtree(folder, ignore_errors=True)
        if kind == "phiq":
            run(os.path.join(bin_dir, "phi-quantize"), model, "--to", "mlx", *arg,
                "-o", folder)
        else:
            run(sys.executable, "-m", "mlx_lm", "convert", "--hf-path", model,
                "--mlx-path", folder, "-q", "--q-bits", arg[0], "--q-group-size", "64")
        rows.append((label, folder))

    print("| folder | model.safetensors bytes | bpw file | bpw quantized | PPL all "
          "| PPL 128..254 | KLD vs fp32 | same top % |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for label, folder in rows:
        nbytes = os.path.getsize(os.path.join(folder, "model.safetensors"))
        lp = log_softmax(logits_of(folder, tokens))
        picked = np.take_along_axis(lp[:, :-1], tokens[:, 1:, None], axis=-1)[..., 0]
        ppl_all = math.exp(-picked.mean())
        ppl_half = math.exp(-picked[:, 128:255].mean())
        q = lp[:, 128:255]
        kld = float((np.exp(ref_lp) * (ref_lp - q)).sum(-1).mean())
        same = 100.0 * float((ref_lp.argmax(-1) == q.argmax(-1)).mean())
        qbits = quantized_bits(folder)
        print(f"| {label} | {nbytes:,} | {nbytes * 8 / params:.2f} | "
              f"{'' if qbits is None else f'{qbits:.3f}'} | {ppl_all:.4f} | "
              f"{ppl_half:.6f} | {kld:.6f} | {same:.3f} |", flush=True)


if __name__ == "__main__":
    main()
