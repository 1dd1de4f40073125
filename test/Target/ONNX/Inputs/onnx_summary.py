#!/usr/bin/env python3
"""Prints what FileCheck needs to know about an exported ONNX folder.

usage: onnx_summary.py DIR

Runs onnx.checker on DIR/model.onnx (with its external data), then prints
the files, opsets, graph inputs and outputs with their shapes, the count of
each op type, the attributes of the first MatMulNBits, whether every weight
initializer is external, and genai_config.json's model section.
"""
import collections
import json
import os
import sys

import onnx


def dims(value):
    return "[" + ",".join(d.dim_param or str(d.dim_value)
                          for d in value.type.tensor_type.shape.dim) + "]"


def main():
    folder = sys.argv[1]
    path = os.path.join(folder, "model.onnx")
    onnx.checker.check_model(path, full_check=True)
    print("checker: ok")
    print("files:", " ".join(sorted(os.listdir(folder))))
    model = onnx.load(path, load_external_data=False)
    print("ir_version:", model.ir_version)
    for opset in model.opset_import:
        print(f"opset: '{opset.domain}' {opset.version}")
    elem = onnx.TensorProto.DataType.Name
    for value in model.graph.input:
        print(f"input: {value.name} {elem(value.type.tensor_type.elem_type)} {dims(value)}")
    for value in model.graph.output:
        print(f"output: {value.name} {elem(value.type.tensor_type.elem_type)} {dims(value)}")
    counts = collections.Counter(node.op_type for node in model.graph.node)
    for op, n in sorted(counts.items()):
        print(f"op: {op} {n}")
    for node in model.graph.node:
        if node.op_type == "MatMulNBits":
            attrs = {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}
            print(f"MatMulNBits: domain {node.domain} inputs {len(node.input)} " +
                  " ".join(f"{k}={attrs[k]}" for k in sorted(attrs)))
            break
    external = [t for t in model.graph.initializer
                if t.data_location == onnx.TensorProto.EXTERNAL]
    inline_bytes = sum(len(t.raw_data) + 8 * len(t.int64_data) for t in model.graph.initializer)
    print(f"initializers: {len(model.graph.initializer)}, external {len(external)}, "
          f"inline bytes {inline_bytes}")
    for t in external:
        if t.name.startswith(("model.embed_tokens", "lm_head", "cos_cache", "sin_cache")):
            print(f"weight: {t.name} {elem(t.data_type)} {list(t.dims)}")
    config = json.load(open(os.path.join(folder, "genai_config.json")))["model"]
    decoder = config.pop("decoder")
    print("genai model:", json.dumps(config, sort_keys=True))
    decoder.pop("session_options")
    print("genai decoder:", json.dumps(decoder, sort_keys=True))


if __name__ == "__main__":
    main()
