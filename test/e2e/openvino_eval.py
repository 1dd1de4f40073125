#!/usr/bin/env python3
"""Perplexity of a PhiQ ONNX folder in OpenVINO (CPU), against phi-run.

usage: openvino_eval.py FOLDER TOKENS.i32 REFERENCE.json TOLERANCE

OpenVINO's ONNX frontend reads FOLDER/model.onnx (external data included,
com.microsoft.MatMulNBits included) and its CPU plugin runs one full-sequence
pass per window (f32 inference precision, 2 threads, an empty KV cache).
REFERENCE.json is phi-run eval --json of the same module; the perplexities
must agree within TOLERANCE relative. Prints one line and exits non-zero on
a mismatch.
"""
import json
import math
import sys

import numpy as np
import openvino as ov


def main():
    folder, tokens_path, reference_path, tolerance = sys.argv[1:5]
    reference = json.load(open(reference_path))
    seq_len = reference["seq_len"]
    tokens = np.fromfile(tokens_path, dtype="<i4").reshape(-1, seq_len).astype(np.int64)
    decoder = json.load(open(f"{folder}/genai_config.json"))["model"]["decoder"]
    layers = decoder["num_hidden_layers"]
    kv_shape = (decoder["num_key_value_heads"], 0, decoder["head_size"])

    core = ov.Core()
    model = core.read_model(f"{folder}/model.onnx")
    compiled = core.compile_model(model, "CPU", {"INFERENCE_PRECISION_HINT": "f32",
                                                 "INFERENCE_NUM_THREADS": 2})
    past_type = np.float16 if "f16" in str(
        model.input("past_key_values.0.key").get_element_type()) else np.float32
    total, count = 0.0, 0
    for start in range(0, tokens.shape[0], 8):
        window = tokens[start:start + 8]
        batch = window.shape[0]
        feeds = {"input_ids": window,
                 "attention_mask": np.ones((batch, seq_len), np.int64),
                 "position_ids": np.tile(np.arange(seq_len, dtype=np.int64), (batch, 1))}
        for layer in range(layers):
            for kind in ("key", "value"):
                feeds[f"past_key_values.{layer}.{kind}"] = np.zeros((batch,) + kv_shape, past_type)
        logits = compiled(feeds)[compiled.output("logits")].astype(np.float64)[:, :-1]
        m = logits.max(axis=-1, keepdims=True)
        lse = m[..., 0] + np.log(np.exp(logits - m).sum(axis=-1))
        picked = np.take_along_axis(logits, window[:, 1:, None], axis=-1)[..., 0]
        total += float((lse - picked).sum())
        count += batch * (seq_len - 1)
    ours = math.exp(total / count)
    rel = abs(ours - reference["perplexity"]) / reference["perplexity"]
    ok = rel <= float(tolerance)
    print(f"openvino {ours:.6f} phi-run {reference['perplexity']:.6f} rel {rel:.2e} "
          f"{'ok' if ok else 'MISMATCH'}")
    sys.exit(0 if ok else 1)


main()
