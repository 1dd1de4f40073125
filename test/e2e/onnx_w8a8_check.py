#!/usr/bin/env python3
"""The first W8A8 linear of a PhiQ ONNX export, bit for bit.

usage: onnx_w8a8_check.py DIR TOKENS.i32 [WINDOWS]

Runs the exported decoder in onnxruntime on the first WINDOWS (default 8)
windows as one pass, reads the input of the first DynamicQuantizeLinear and
the float output of its linear (DynamicQuantizeLinear -> MatMulInteger ->
Cast -> Mul), and recomputes that output from the input in numpy with the
arithmetic phi-run uses (phiq/Quant/ActivationQuant.h): the per-tensor uint8
range, scale and zero point, codes rounded half to even after an f32
division, exact integer sums against the weight codes, then
f32(sum) * f32(x_scale * w_scale). Prints whether every element is equal.
(Later layers cannot be compared this way against phi-run: the float ops
between two quantizations differ from phi-run's in the last bits, and a
code that lands on the other side of a rounding boundary moves everything
after it.)
"""
import json
import sys

import numpy as np
import onnx
import onnxruntime as ort
from onnx import helper, numpy_helper


def main():
    folder, tokens_path = sys.argv[1:3]
    windows = int(sys.argv[3]) if len(sys.argv) > 3 else 8
    model = onnx.load(f"{folder}/model.onnx")
    nodes = list(model.graph.node)
    by_input = {}
    for n in nodes:
        for i in n.input:
            by_input.setdefault(i, []).append(n)
    dql = next(n for n in nodes if n.op_type == "DynamicQuantizeLinear")
    mmi = next(n for n in by_input[dql.output[0]] if n.op_type == "MatMulInteger")
    cast = by_input[mmi.output[0]][0]
    out = next(n for n in by_input[cast.output[0]] if n.op_type == "Mul")
    scale_mul = next(n for n in nodes if n.output[0] == out.input[1])
    onnx.load_external_data_for_model(model, folder)
    init = {i.name: i for i in model.graph.initializer}
    codes = numpy_helper.to_array(init[mmi.input[1]]).astype(np.int64)
    w_zero = numpy_helper.to_array(init[mmi.input[3]]).astype(np.int64)
    w_scale = numpy_helper.to_array(init[scale_mul.input[1]]).astype(np.float32)
    model.graph.output.append(helper.make_tensor_value_info(
        dql.input[0], onnx.TensorProto.FLOAT, None))
    model.graph.output.append(helper.make_tensor_value_info(
        out.output[0], onnx.TensorProto.FLOAT, None))
    options = ort.SessionOptions()
    options.intra_op_num_threads = 2
    sess = ort.InferenceSession(model.SerializeToString(), options,
                                providers=["CPUExecutionProvider"])
    config = json.load(open(f"{folder}/genai_config.json"))["model"]["decoder"]
    tokens = np.fromfile(tokens_path, dtype="<i4").reshape(-1, 256)[:windows]
    batch, length = tokens.shape
    feeds = {"input_ids": tokens.astype(np.int64),
             "attention_mask": np.ones((batch, length), np.int64),
             "position_ids": np.tile(np.arange(length, dtype=np.int64), (batch, 1))}
    for layer in range(config["num_hidden_layers"]):
        for kv in ("key", "value"):
            feeds[f"past_key_values.{layer}.{kv}"] = np.zeros(
                (batch, config["num_key_value_heads"], 0, config["head_size"]),
                np.float32)
    x, y = sess.run([dql.input[0], out.output[0]], feeds)

    lo = min(np.float32(0), x.min())
    hi = max(np.float32(0), x.max())
    scale = np.float32(1) if hi == lo else np.float32((hi - lo) / np.float32(255))
    zero = int(np.rint(np.clip(np.float32(0) - lo / scale, 0, 255)))
    q = np.clip(np.rint(x / scale) + zero, 0, 255).astype(np.int64)
    sums = (q - zero).reshape(-1, x.shape[-1]) @ (codes - w_zero)
    ours = sums.astype(np.float32) * (scale * w_scale)
    equal = np.array_equal(ours, y.reshape(ours.shape))
    print(f"first W8A8 linear ({x.shape[-1]} -> {ours.shape[-1]}, scale {scale:.8g}, "
          f"zero point {zero}): {'bit-identical' if equal else 'MISMATCH'}")
    sys.exit(0 if equal else 1)


if __name__ == "__main__":
    main()
