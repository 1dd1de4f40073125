#!/usr/bin/env python3
"""PhiQ's QDQ int8 weights against onnxruntime.quantization's own rule.

usage:
  onnx_qdq_check.py QDQ_DIR FLOAT_DIR

Every `<name>.qdq` int8 initializer of QDQ_DIR (with `<name>.qdq_scale`
and `<name>.qdq_zero_point`) is compared, row by row, with what
onnxruntime.quantization.quant_utils.quantize_data computes for the fp32
initializer `<name>` of FLOAT_DIR (the same module exported unquantized),
as quantize_static / quantize_dynamic do for a per-channel symmetric int8
weight: codes, scales and zero points must be identical.

Prints one line and exits non-zero on any difference.
"""
import sys

import numpy as np
import onnx
from onnx import numpy_helper
from onnxruntime.quantization.quant_utils import quantize_data


def initializers(folder):
    model = onnx.load(f"{folder}/model.onnx")
    return {t.name: numpy_helper.to_array(t) for t in model.graph.initializer}


def main():
    qdq, floats = initializers(sys.argv[1]), initializers(sys.argv[2])
    names = sorted(n[: -len(".qdq")] for n in qdq if n.endswith(".qdq"))
    rows = 0
    bad = []
    for name in names:
        codes, scales, zps = qdq[name + ".qdq"], qdq[name + ".qdq_scale"], qdq[name + ".qdq_zero_point"]
        weight = floats[name].astype(np.float32)
        assert codes.dtype == np.int8 and codes.shape == weight.shape, name
        for r in range(weight.shape[0]):
            zp, scale, q = quantize_data(weight[r], onnx.TensorProto.INT8, True)
            if (int(zp) != int(zps[r]) or np.float32(scale) != scales[r]
                    or not np.array_equal(q, codes[r])):
                bad.append(f"{name} row {r}")
        rows += weight.shape[0]
    ok = bool(names) and not bad
    print(f"QDQ weights vs onnxruntime.quantization: {len(names)} tensors, {rows} rows, "
          f"{'identical' if ok else 'DIFFER: ' + ', '.join(bad[:5])}")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
