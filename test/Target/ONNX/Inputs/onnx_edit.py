#!/usr/bin/env python3
"""Makes a broken copy of an exported model.onnx for the importer's error
tests. The external data is not loaded: the copy keeps pointing at the same
model.onnx.data (write it into the same folder).

usage: onnx_edit.py IN OUT op OP_TYPE NEW_OP_TYPE   (first node of OP_TYPE)
       onnx_edit.py IN OUT attr OP_TYPE NAME VALUE  (int attribute of the
                                                     first node of OP_TYPE,
                                                     added if missing)
       onnx_edit.py IN OUT offset INITIALIZER OFFSET
       onnx_edit.py IN OUT fill INITIALIZER VALUE   (inline, every element
                                                     VALUE, same dims/type)
       onnx_edit.py IN OUT dtype INITIALIZER TYPE   (same bytes, another
                                                     TensorProto type name)
"""
import sys

import numpy as np
import onnx
from onnx import helper, numpy_helper


def first(model, op_type):
    return next(n for n in model.graph.node if n.op_type == op_type)


def main():
    src, dst, command, *args = sys.argv[1:]
    model = onnx.load(src, load_external_data=False)
    if command == "op":
        first(model, args[0]).op_type = args[1]
    elif command == "attr":
        node = first(model, args[0])
        for a in node.attribute:
            if a.name == args[1]:
                a.i = int(args[2])
                break
        else:
            node.attribute.append(helper.make_attribute(args[1], int(args[2])))
    elif command == "offset":
        init = next(t for t in model.graph.initializer if t.name == args[0])
        for entry in init.external_data:
            if entry.key == "offset":
                entry.value = args[1]
    elif command in ("fill", "dtype"):
        index = next(i for i, t in enumerate(model.graph.initializer)
                     if t.name == args[0])
        init = model.graph.initializer[index]
        if command == "dtype":
            init.data_type = getattr(onnx.TensorProto, args[1])
        else:
            dtype = helper.tensor_dtype_to_np_dtype(init.data_type)
            values = np.full(list(init.dims), float(args[1])).astype(dtype)
            model.graph.initializer[index].CopyFrom(
                numpy_helper.from_array(values, init.name))
    else:
        sys.exit(f"unknown command {command}")
    onnx.save(model, dst)


if __name__ == "__main__":
    main()
