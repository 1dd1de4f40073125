#!/usr/bin/env python3
"""INT8 weights and activations (W8A8) on a Phi model, scored in ONNX Runtime.

usage: w8a8_quality_table.py BIN_DIR MODEL_DIR WORK_DIR [SUBSTRING...]

(only the rows whose label holds one of the SUBSTRINGs when any are given)

Rows (every file loaded and scored by onnxruntime, CPU, 2 threads, the
32 x 256 held-out windows in full-sequence passes of 8 windows):
  - PhiQ int8 QDQ weights only (--phiq-quantize-onnx="bits=8 qdq=true"),
  - PhiQ dynamic W8A8 (activations=dynamic: DynamicQuantizeLinear +
    MatMulInteger, what quantize_dynamic computes),
  - PhiQ SmoothQuant W8A8 static (algorithm=smoothquant activations=static,
    alpha 0.5, statistics from --phiq-calibrate on calib_tokens.i32),
  - PhiQ SmoothQuant + dynamic activations,
  - onnxruntime.quantization.quantize_dynamic on PhiQ's fp32 export (its
    weight Transposes folded into initializers, which the quantizer needs;
    MatMul only; per-tensor and per-channel int8 weights),
  - onnxruntime.quantization.quantize_static (QDQ, MinMax, per-channel int8
    weights, uint8 activations, MatMul only) with a calibration reader over
    calib_tokens.i32 (the same windows as --phiq-calibrate).
Reported: bytes, perplexity over all predictions and over positions
128..254, and against phi-run's fp32 logits the mean KL divergence and the
share of unchanged top tokens over positions 128..254 (as
onnx_quality_table.py and docs/Calibration.md).
"""
import math
import os
import subprocess
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from onnx_quality_table import log_softmax, logits_of  # noqa: E402


def run(*args):
    subprocess.run([str(a) for a in args], check=True, capture_output=True)


class CalibReader:
    """onnxruntime.quantization's CalibrationDataReader over a token file."""

    def __init__(self, folder, tokens_path, seq_len=512, windows=32):
        import json
        config = json.load(open(os.path.join(folder, "genai_config.json")))["model"]["decoder"]
        tokens = np.fromfile(tokens_path, dtype="<i4").reshape(-1, seq_len)[:windows]
        self.feeds = []
        for ids in tokens:
            ids = ids[None].astype(np.int64)
            feed = {"input_ids": ids,
                    "attention_mask": np.ones_like(ids),
                    "position_ids": np.arange(seq_len, dtype=np.int64)[None]}
            for layer in range(config["num_hidden_layers"]):
                for name in ("key", "value"):
                    feed[f"past_key_values.{layer}.{name}"] = np.zeros(
                        (1, config["num_key_value_heads"], 0, config["head_size"]),
                        np.float32)
            self.feeds.append(feed)
        self.it = iter(self.feeds)

    def get_next(self):
        return next(self.it, None)

    def rewind(self):
        self.it = iter(self.feeds)


def fold_transposes(src, dst):
    """PhiQ's export multiplies by Transpose(W) (ORT folds it at load);
    onnxruntime.quantization only quantizes a MatMul whose B is an
    initializer, so fold those Transposes into [in, out] initializers."""
    import onnx
    from onnx import numpy_helper
    model = onnx.load(src)
    inits = {t.name: t for t in model.graph.initializer}
    keep = []
    for node in model.graph.node:
        if node.op_type == "Transpose" and node.input[0] in inits:
            w = numpy_helper.to_array(inits[node.input[0]])
            perm = next(a.ints for a in node.attribute if a.name == "perm")
            model.graph.initializer.append(
                numpy_helper.from_array(np.ascontiguousarray(w.transpose(perm)),
                                        node.output[0]))
            continue
        keep.append(node)
    del model.graph.node[:]
    model.graph.node.extend(keep)
    used = {i for n in model.graph.node for i in n.input}
    unused = [t for t in model.graph.initializer if t.name not in used]
    for t in unused:
        model.graph.initializer.remove(t)
    onnx.save(model, dst, save_as_external_data=True, all_tensors_to_one_file=True,
              location=os.path.basename(dst) + ".data")


def ort_folder(src, dst, quantize):
    """Copies an export folder's side files and writes the quantized graph
    (from the fp32 graph with its weight Transposes folded)."""
    import shutil
    os.makedirs(dst, exist_ok=True)
    for f in os.listdir(src):
        if not f.startswith("model.onnx"):
            shutil.copy(os.path.join(src, f), dst)
    folded = os.path.join(dst, "folded.onnx")
    fold_transposes(os.path.join(src, "model.onnx"), folded)
    quantize(folded, os.path.join(dst, "model.onnx"))
    os.remove(folded)
    os.remove(folded + ".data")


def main():
    bin_dir, model, work = sys.argv[1:4]
    os.makedirs(work, exist_ok=True)
    tokens_path = os.path.join(model, "reference", "eval_tokens.i32")
    calib_path = os.path.join(model, "reference", "calib_tokens.i32")
    tokens = np.fromfile(tokens_path, dtype="<i4").reshape(-1, 256)
    B, T = tokens.shape
    ref_path = os.path.join(work, "fp32_logits.f32")
    run(os.path.join(bin_dir, "phi-run"), "eval", model, "--tokens", tokens_path,
        "--logits-out", ref_path, "--all-windows")
    ref = np.fromfile(ref_path, dtype=np.float32).reshape(B, T, -1)
    ref_lp = log_softmax(ref[:, 128:255].astype(np.float64))
    f32 = os.path.join(work, "f32.mlir")
    run(os.path.join(bin_dir, "phi-translate"), "--import-hf", model, "-o", f32)
    stats = os.path.join(work, "stats.safetensors")
    run(os.path.join(bin_dir, "phi-opt"), f32,
        f"--phiq-calibrate=tokens={calib_path} output={stats}", "-o", os.devnull)
    fp32_folder = os.path.join(work, "fp32")
    run(os.path.join(bin_dir, "phi-translate"), "--phi-to-onnx", f32,
        "--onnx-out", fp32_folder, "-o", os.devnull)

    from onnxruntime.quantization import (CalibrationMethod, QuantFormat,
                                          QuantType, quantize_dynamic,
                                          quantize_static)

    def phiq(options):
        def make(tag):
            module = os.path.join(work, f"{tag}.mlir")
            run(os.path.join(bin_dir, "phi-opt"), f32,
                f"--phiq-quantize-onnx={options} output={work}/{tag}.safetensors",
                "-o", module)
            run(os.path.join(bin_dir, "phi-translate"), "--phi-to-onnx", module,
                "--onnx-out", os.path.join(work, tag), "-o", os.devnull)
        return make

    def ort_dynamic(per_channel):
        def make(tag):
            ort_folder(fp32_folder, os.path.join(work, tag), lambda src, dst: quantize_dynamic(
                src, dst, op_types_to_quantize=["MatMul"], per_channel=per_channel,
                weight_type=QuantType.QInt8, use_external_data_format=True))
        return make

    def ort_static(tag):
        ort_folder(fp32_folder, os.path.join(work, tag), lambda src, dst: quantize_static(
            src, dst, CalibReader(fp32_folder, calib_path), quant_format=QuantFormat.QDQ,
            op_types_to_quantize=["MatMul"], per_channel=True,
            activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8,
            calibrate_method=CalibrationMethod.MinMax, use_external_data_format=True))

    rows = [
        ("PhiQ int8 QDQ weights only (W8A32)", phiq("bits=8 qdq=true")),
        ("PhiQ dynamic W8A8", phiq("bits=8 qdq=true activations=dynamic")),
        ("PhiQ SmoothQuant W8A8 static", phiq(
            f"bits=8 qdq=true algorithm=smoothquant calibration={stats} activations=static")),
        ("PhiQ SmoothQuant + dynamic W8A8", phiq(
            f"bits=8 qdq=true algorithm=smoothquant calibration={stats} activations=dynamic")),
        ("ORT quantize_dynamic (per-tensor int8)", ort_dynamic(False)),
        ("ORT quantize_dynamic (per-channel int8)", ort_dynamic(True)),
        ("ORT quantize_static QDQ (MinMax, per-channel)", ort_static),
    ]
    print("| export | quantizer | bytes | PPL all | PPL 128..254 | KLD vs fp32 | same top % |")
    print("|---|---|---:|---:|---:|---:|---:|")
    only = sys.argv[4:]
    for label, make in rows:
        if only and not any(o in label for o in only):
            continue
        tag = "".join(c if c.isalnum() else "-" for c in label)
        make(tag)
        folder = os.path.join(work, tag)
        nbytes = sum(os.path.getsize(os.path.join(folder, f))
                     for f in os.listdir(folder) if f.startswith("model.onnx"))
        lp = log_softmax(logits_of(folder, tokens))
        picked = np.take_along_axis(lp[:, :-1], tokens[:, 1:, None], axis=-1)[..., 0]
        q = lp[:, 128:255]
        kld = float((np.exp(ref_lp) * (ref_lp - q)).sum(-1).mean())
        same = 100.0 * float((ref_lp.argmax(-1) == q.argmax(-1)).mean())
        print(f"| INT8 W8A8 | {label} | {nbytes:,} | {math.exp(-picked.mean()):.4f} | "
              f"{math.exp(-picked[:, 128:255].mean()):.6f} | {kld:.6f} | {same:.3f} |",
              flush=True)


if __name__ == "__main__":
    main()
