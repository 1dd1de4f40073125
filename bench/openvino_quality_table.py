#!/usr/bin/env python3
"""Quality of PhiQ's OpenVINO IR exports and of NNCF's own, in OpenVINO.

usage: openvino_quality_table.py BIN_DIR MODEL_DIR WORK_DIR

Rows, all written from MODEL_DIR and run by OpenVINO's CPU plugin (f32
inference precision, f32 KV cache, no dynamic activation quantization, 2
threads) on the 32 x 256 held-out windows of reference/eval_tokens.i32 in
full-sequence passes of the stateful model:

- PhiQ fp32 and fp16 (`phi-quantize --to openvino --type F32/F16`);
- PhiQ INT4_ASYM g64 and g128 (`--type INT4_ASYM --group-size N`: every
  linear and the lm_head in NNCF's u4 groups, embedding float);
- NNCF's own `nncf.compress_weights(mode=INT4_ASYM, group_size=64)`,
  data-free with its defaults (ratio 1.0; all_layers=False, so it keeps the
  embedding and the lm_head in INT8_ASYM per-channel), on OpenVINO's
  reading of PhiQ's fp32 export;
- the same with all_layers=True (the setting PhiQ's rows use).

Reported: openvino_model.bin bytes; bits per weight over the checkpoint's
weight tensors (their Consts, scales and zero points over their elements;
the rotary tables are left out); perplexity over all 32 x 255 predictions;
against the fp32 export's logits the mean KL divergence and the share of
unchanged top tokens over all predictions.
"""
import math
import os
import subprocess
import sys

import numpy as np
import openvino as ov

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "test", "e2e"))
from openvino_ir_check import CPU_CONFIG, ir_constants, nncf_compress  # noqa: E402


def log_softmax(x):
    m = x.max(axis=-1, keepdims=True)
    return x - m - np.log(np.exp(x - m).sum(axis=-1, keepdims=True))


def logprobs(folder, tokens):
    core = ov.Core()
    request = core.compile_model(core.read_model(f"{folder}/openvino_model.xml"), "CPU",
                                 CPU_CONFIG).create_infer_request()
    out = []
    for start in range(0, tokens.shape[0], 8):
        window = tokens[start:start + 8]
        batch, length = window.shape
        request.reset_state()
        request.infer({"input_ids": window,
                       "attention_mask": np.ones((batch, length), np.int64),
                       "position_ids": np.tile(np.arange(length, dtype=np.int64), (batch, 1)),
                       "beam_idx": np.arange(batch, dtype=np.int32)})
        out.append(log_softmax(request.get_tensor("logits").data[:, :-1].astype(np.float64)))
    return np.concatenate(out)


def weight_bits(folder):
    """Bits per weight over the checkpoint's tensors (named model.* / lm_head.*)."""
    total_bytes, elements = 0, 0
    for name, (etype, shape, data) in ir_constants(folder).items():
        base = name.split("/")[0]
        if base.endswith("_compressed"):
            base = base[:-len("_compressed")]
        if not (base.startswith("model.") or base.startswith("lm_head.")):
            continue
        total_bytes += len(data)
        if base == name or name == base + "_compressed":
            dims = [int(d) for d in shape.split(",") if d]
            elements += int(np.prod(dims)) if dims else 1
    return 8.0 * total_bytes / elements


def main():
    bin_dir, model_dir, work = sys.argv[1:4]
    os.makedirs(work, exist_ok=True)
    tokens = np.fromfile(f"{model_dir}/reference/eval_tokens.i32", dtype="<i4")
    tokens = tokens.reshape(-1, 256).astype(np.int64)
    rows = []

    def phiq(label, *args):
        folder = f"{work}/{label.replace(' ', '_')}"
        subprocess.run([f"{bin_dir}/phi-quantize", model_dir, "--to", "openvino", "-o", folder,
                        *args], check=True, capture_output=True)
        rows.append((f"PhiQ {label}", folder))

    phiq("fp32", "--type", "F32")
    phiq("fp16", "--type", "F16")
    phiq("INT4_ASYM g64", "--type", "INT4_ASYM", "--group-size", "64")
    phiq("INT4_ASYM g128", "--type", "INT4_ASYM", "--group-size", "128")
    for label, all_layers in (("NNCF INT4_ASYM g64 (defaults)", False),
                              ("NNCF INT4_ASYM g64 all_layers", True)):
        folder = f"{work}/{label.split('(')[0].strip().replace(' ', '_')}_{all_layers}"
        os.makedirs(folder, exist_ok=True)
        nncf_compress(f"{work}/fp32", folder, "int4_asym", 64, all_layers)
        rows.append((label, folder))

    base = logprobs(f"{work}/fp32", tokens)
    targets = tokens[:, 1:]
    print("| model | bin bytes | bpw weights | PPL | KLD vs fp32 | same top % |")
    print("|---|---:|---:|---:|---:|---:|")
    for label, folder in rows:
        lp = logprobs(folder, tokens)
        nll = -np.take_along_axis(lp, targets[..., None], axis=-1).mean()
        kld = (np.exp(base) * (base - lp)).sum(axis=-1).mean()
        same = (lp.argmax(-1) == base.argmax(-1)).mean() * 100
        size = os.path.getsize(f"{folder}/openvino_model.bin")
        print(f"| {label} | {size:,} | {weight_bits(folder):.2f} | {math.exp(nll):.4f} | "
              f"{kld:.6f} | {same:.3f} |", flush=True)


main()
