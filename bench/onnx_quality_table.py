#!/usr/bin/env python3
"""Quality of PhiQ's ONNX exports, measured in ONNX Runtime.

usage: onnx_quality_table.py BIN_DIR MODEL_DIR WORK_DIR [LABEL...]

(only the rows named by LABEL when any are given)

Each row is one --phi-to-onnx export of MODEL_DIR: fp32 and fp16 float
graphs, and MatMulNBits graphs from --phiq-quantize-onnx (int8, and int4
with blocks of 32/64/128, symmetric and asymmetric; every linear and the
lm_head quantized, the embedding Gather kept fp32, and one row with the
embedding in GatherBlockQuantized blocks too), one QDQ graph (qdq=true:
per-channel int8 behind DequantizeLinear), and bf16 weights (bf16
initializers behind a Cast, fp32 compute). onnxruntime 1.32 (CPU,
2 threads) scores the 32 x 256 held-out windows in full-sequence passes.
Reported: the folder's model.onnx + model.onnx.data bytes, bits per weight
of the file (bytes x 8 over the model's parameters) and of the quantized
tensors (MatMulNBits or DequantizeLinear inputs over their weights' elements), perplexity
over all 32 x 255 predictions and over positions 128..254, and against
phi-run's fp32 logits the mean KL divergence and the share of unchanged top
tokens over positions 128..254: the definitions of
shared/validators/ANCHOR_RESULTS.md, whose ONNX Runtime RTN MatMulNBits
figures are printed next to ours.
"""
import json
import math
import os
import subprocess
import sys

import numpy as np
import onnx
import onnxruntime as ort

# (label, --phiq-quantize-onnx options (or a whole phi-opt pass flag) or
# None, --onnx-precision)
ROWS = [
    ("fp32", None, "fp32"),
    ("fp16", None, "fp16"),
    ("int8 g32 asym", "bits=8 block-size=32 symmetric=false", "fp32"),
    ("int8 g128 sym", "bits=8 block-size=128 symmetric=true", "fp32"),
    ("int4 g32 sym", "bits=4 block-size=32 symmetric=true", "fp32"),
    ("int4 g32 asym", "bits=4 block-size=32 symmetric=false", "fp32"),
    ("int4 g64 sym", "bits=4 block-size=64 symmetric=true", "fp32"),
    ("int4 g64 asym", "bits=4 block-size=64 symmetric=false", "fp32"),
    ("int4 g128 sym", "bits=4 block-size=128 symmetric=true", "fp32"),
    ("int4 g128 asym", "bits=4 block-size=128 symmetric=false", "fp32"),
    ("int4 g32 asym + embedding", "bits=4 block-size=32 symmetric=false quantize-embedding=true", "fp32"),
    ("int8 QDQ per channel", "bits=8 qdq=true", "fp32"),
    ("bf16 weights", "--phiq-quantize-weights=type=BF16 pure", "fp32"),
]

# shared/validators/ANCHOR_RESULTS.md, "ONNX Runtime anchor, phi35-tiny":
# (PPL all, KLD vs fp32, same top %) of the anchor's own RTN MatMulNBits.
ANCHORS = {
    "fp32": (5.6600, 0.0, 100.0),
    "int4 g32 sym": (5.8677, 0.043808, 90.600),
    "int4 g32 asym": (5.8412, 0.038841, 91.585),
    "int4 g128 asym": (5.9325, 0.059777, 88.829),
}


def log_softmax(x):
    m = x.max(axis=-1, keepdims=True)
    return x - m - np.log(np.exp(x - m).sum(axis=-1, keepdims=True))


def run(*args):
    subprocess.run([str(a) for a in args], check=True, capture_output=True)


def logits_of(folder, tokens):
    options = ort.SessionOptions()
    options.intra_op_num_threads = 2
    # Keep ORT's DequantizeLinear + MatMul fusion (QDQ rows) at fp32
    # activations: its default accuracy_level is 4 (int8 activations).
    options.add_session_config_entry("session.qdq_matmulnbits_accuracy_level", "0")
    sess = ort.InferenceSession(os.path.join(folder, "model.onnx"), options,
                                providers=["CPUExecutionProvider"])
    config = json.load(open(os.path.join(folder, "genai_config.json")))["model"]["decoder"]
    past = next(i for i in sess.get_inputs() if i.name.startswith("past_key_values"))
    kv = np.float16 if "float16" in past.type else np.float32
    out = []
    for start in range(0, tokens.shape[0], 8):
        ids = tokens[start:start + 8].astype(np.int64)
        b, t = ids.shape
        feeds = {"input_ids": ids, "attention_mask": np.ones((b, t), np.int64),
                 "position_ids": np.tile(np.arange(t, dtype=np.int64), (b, 1))}
        for layer in range(config["num_hidden_layers"]):
            for name in ("key", "value"):
                feeds[f"past_key_values.{layer}.{name}"] = np.zeros(
                    (b, config["num_key_value_heads"], 0, config["head_size"]), kv)
        out.append(sess.run(["logits"], feeds)[0].astype(np.float64))
    return np.concatenate(out)


def nbits_bits(folder):
    """Bits per weight of the quantized weights: the MatMulNBits inputs (B,
    scales, zero points) and the DequantizeLinear inputs (int8 codes,
    scales, zero points) over their weights' elements."""
    model = onnx.load(os.path.join(folder, "model.onnx"), load_external_data=False)
    sizes = {}
    for t in model.graph.initializer:
        for entry in t.external_data:
            if entry.key == "length":
                sizes[t.name] = int(entry.value)
    dims = {t.name: list(t.dims) for t in model.graph.initializer}
    nbytes = elements = 0
    for node in model.graph.node:
        if node.op_type == "DequantizeLinear":
            elements += int(np.prod(dims[node.input[0]]))
            nbytes += sum(sizes.get(name, 0) for name in node.input if name)
            continue
        if node.op_type != "MatMulNBits":
            continue
        attrs = {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}
        elements += attrs["K"] * attrs["N"]
        nbytes += sum(sizes.get(name, 0) for name in node.input[1:] if name)
    return nbytes * 8 / elements if elements else None


def main():
    bin_dir, model, work = sys.argv[1:4]
    os.makedirs(work, exist_ok=True)
    tokens_path = os.path.join(model, "reference", "eval_tokens.i32")
    tokens = np.fromfile(tokens_path, dtype="<i4").reshape(-1, 256)
    B, T = tokens.shape
    ref_path = os.path.join(work, "fp32_logits.f32")
    run(os.path.join(bin_dir, "phi-run"), "eval", model, "--tokens", tokens_path,
        "--logits-out", ref_path, "--all-windows")
    ref = np.fromfile(ref_path, dtype=np.float32).reshape(B, T, -1)
    ref_lp = log_softmax(ref[:, 128:255].astype(np.float64))
    header = open(os.path.join(model, "model.safetensors"), "rb")
    size = int.from_bytes(header.read(8), "little")
    params = sum(int(np.prod(v["shape"])) for k, v in json.loads(header.read(size)).items()
                 if k != "__metadata__")
    f32 = os.path.join(work, "f32.mlir")
    run(os.path.join(bin_dir, "phi-translate"), "--import-hf", model, "-o", f32)

    print("| export | bytes | bpw file | bpw quantized | PPL all | PPL 128..254 "
          "| KLD vs fp32 | same top % | anchor PPL all | anchor KLD | anchor same top % |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    only = sys.argv[4:]
    for label, options, precision in ROWS:
        if only and label not in only:
            continue
        tag = label.replace(" ", "-")
        module = f32
        if options:
            module = os.path.join(work, f"{tag}.mlir")
            flag = (options if options.startswith("--")
                    else f"--phiq-quantize-onnx={options}")
            run(os.path.join(bin_dir, "phi-opt"), f32, flag, "-o", module)
        folder = os.path.join(work, tag)
        run(os.path.join(bin_dir, "phi-translate"), "--phi-to-onnx", module,
            "--onnx-out", folder, f"--onnx-precision={precision}", "-o", os.devnull)
        nbytes = sum(os.path.getsize(os.path.join(folder, f))
                     for f in ("model.onnx", "model.onnx.data"))
        logits = logits_of(folder, tokens)
        lp = log_softmax(logits)
        picked = np.take_along_axis(lp[:, :-1], tokens[:, 1:, None], axis=-1)[..., 0]
        ppl_all = math.exp(-picked.mean())
        ppl_half = math.exp(-picked[:, 128:255].mean())
        q = lp[:, 128:255]
        kld = float((np.exp(ref_lp) * (ref_lp - q)).sum(-1).mean())
        same = 100.0 * float((ref_lp.argmax(-1) == q.argmax(-1)).mean())
        mnb = nbits_bits(folder)
        anchor = ANCHORS.get(label)
        anchor_cols = (f"{anchor[0]:.4f} | {anchor[1]:.6f} | {anchor[2]:.3f}"
                       if anchor else "| |")
        print(f"| {label} | {nbytes:,} | {nbytes * 8 / params:.2f} | "
              f"{'' if mnb is None else f'{mnb:.3f}'} | {ppl_all:.4f} | {ppl_half:.6f} | "
              f"{kld:.6f} | {same:.3f} | {anchor_cols} |", flush=True)


if __name__ == "__main__":
    main()
