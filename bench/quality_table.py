#!/usr/bin/env python3
"""Quality of every llama.cpp preset PhiQ writes, measured in llama.cpp.

usage: quality_table.py BIN_DIR MODEL_DIR WORK_DIR [TYPE ...]

For each preset: phi-quantize writes the GGUF file; llama.cpp
(llama-cpp-python, n_ctx 256, 2 threads) scores the 32 x 256 held-out
windows. Reported: file size, bits per weight of the file (bytes x 8 over the
model's parameters), perplexity over all 32 x 255 predictions and over
positions 128..254, and, against phi-run's fp32 logits (which match
transformers to 2e-5), the mean KL divergence and the share of positions
whose top token is unchanged, both over positions 128..254 -- the same
definitions as shared/validators/ANCHOR_RESULTS.md, so the rows can be read
next to llama.cpp's own quantizations of the same model.
"""
import json
import math
import os
import subprocess
import sys

import numpy as np
from llama_cpp import Llama

ALL = ["F32", "F16", "BF16", "Q8_0", "Q4_0", "Q4_1", "Q5_0", "Q5_1", "Q2_K",
       "Q3_K_S", "Q3_K_M", "Q3_K_L", "Q4_K_S", "Q4_K_M", "Q5_K_S", "Q5_K_M",
       "Q6_K", "IQ4_NL"]


def log_softmax(x):
    m = x.max(axis=-1, keepdims=True)
    return x - m - np.log(np.exp(x - m).sum(axis=-1, keepdims=True))


def score_gguf(gguf, tokens, ref_lp):
    """Scores a GGUF file in llama.cpp on the [B, T] windows `tokens`:
    perplexity over all predictions and over positions 128..254, mean KLD
    and same-top-token rate (%) against `ref_lp` (the fp32 log-probs of
    positions 128..254)."""
    B, T = tokens.shape
    llm = Llama(model_path=gguf, n_ctx=T, n_batch=T, n_ubatch=T,
                logits_all=True, n_threads=2, verbose=False)
    nll_all, nll_half, kld, same = [], [], [], 0
    for b in range(B):
        llm.reset()
        llm.eval(tokens[b].tolist())
        lp = log_softmax(np.asarray(llm.scores[:T], dtype=np.float64))
        target = tokens[b, 1:]
        nll = -lp[np.arange(T - 1), target]
        nll_all.append(nll)
        nll_half.append(nll[128:255])
        p = np.exp(ref_lp[b])
        kld.append((p * (ref_lp[b] - lp[128:255])).sum(axis=-1))
        same += int((lp[128:255].argmax(-1) == ref_lp[b].argmax(-1)).sum())
    del llm
    return {"ppl_all": math.exp(np.concatenate(nll_all).mean()),
            "ppl_half": math.exp(np.concatenate(nll_half).mean()),
            "kld": float(np.concatenate(kld).mean()),
            "same_top": 100 * same / (B * 127)}


def main():
    bin_dir, model, work = sys.argv[1:4]
    types = sys.argv[4:] or ALL
    os.makedirs(work, exist_ok=True)
    tokens_path = os.path.join(model, "reference", "eval_tokens.i32")
    tokens = np.fromfile(tokens_path, dtype="<i4").reshape(-1, 256)
    B, T = tokens.shape
    ref_path = os.path.join(work, "fp32_logits.f32")
    subprocess.run([os.path.join(bin_dir, "phi-run"), "eval", model, "--tokens",
                    tokens_path, "--logits-out", ref_path, "--all-windows"],
                   check=True, capture_output=True)
    ref = np.fromfile(ref_path, dtype=np.float32).reshape(B, T, -1)
    ref_lp = log_softmax(ref[:, 128:255].astype(np.float64))
    params = sum(np.prod(v["shape"]) for k, v in json.loads(
        open(os.path.join(model, "model.safetensors"), "rb").read()[8:8 + int.from_bytes(
            open(os.path.join(model, "model.safetensors"), "rb").read(8), "little")]).items()
        if k != "__metadata__")
    print(f"| type | bytes | bpw file | PPL all | PPL 128..254 | KLD vs fp32 | same top % |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for t in types:
        gguf = os.path.join(work, f"{t}.gguf")
        subprocess.run([os.path.join(bin_dir, "phi-quantize"), model, "--type", t,
                        "-o", gguf, "--quiet"], check=True, capture_output=True)
        r = score_gguf(gguf, tokens, ref_lp)
        size = os.path.getsize(gguf)
        print(f"| {t} | {size:,} | {size * 8 / params:.2f} | "
              f"{r['ppl_all']:.4f} | {r['ppl_half']:.6f} | "
              f"{r['kld']:.6f} | {r['same_top']:.3f} |", flush=True)


if __name__ == "__main__":
    main()
