#!/usr/bin/env python3
"""Makes a broken copy of an exported model.onnx for the importer's error
tests. The external data is not loaded: the copy keeps pointing at the same
model.onnx.data (write it into the same folder).

usage: onnx_edit.py IN OUT op OP_TYPE NEW_OP_TYPE   (first node of OP_TYPE)
       onnx_edit.py IN OUT attr OP_TYPE NAME VALUE  (int attribute of the
                                                     first node of OP_TYPE)
       onnx_edit.py IN OUT offset INITIALIZER OFFSET
"""
import sys

import onnx


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
    elif command == "offset":
        init = next(t for t in model.graph.initializer if t.name == args[0])
        for entry in init.external_data:
            if entry.key == "offset":
                entry.value = args[1]
    else:
        sys.exit(f"unknown command {command}")
    onnx.save(model, dst)


if __name__ == "__main__":
    main()
