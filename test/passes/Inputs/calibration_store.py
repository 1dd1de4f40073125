"""Writes a small calibration side store for the GPTQ lit tests.

usage: calibration_store.py OUT.safetensors KEY=COLS[xROWS] ...

For each KEY, activations X [256 tokens, COLS] with correlated channels
(a fixed seed) give KEY.hessian = X^T X [COLS, COLS] f32 (or, for
KEY=COLSxROWS, a deliberately mis-shaped [COLS, ROWS] one), KEY.in_sumsq,
KEY.in_absmax and KEY.count, as --phiq-calibrate's side store holds them.
"""
import json
import os
import struct
import sys

import numpy as np


def main():
    out = sys.argv[1]
    rng = np.random.default_rng(0)
    tensors = {}
    for spec in sys.argv[2:]:
        key, shape = spec.split("=")
        dims = [int(d) for d in shape.split("x")]
        cols = dims[0]
        mix = np.eye(cols) * 3 + 0.3 * rng.standard_normal((cols, cols))
        x = rng.standard_normal((256, cols)) @ mix
        h = x.T @ x
        if len(dims) == 2:
            h = h[:, : dims[1]] if dims[1] <= cols else np.zeros(dims)
        tensors[key + ".hessian"] = h.astype(np.float32)
        tensors[key + ".in_sumsq"] = (x * x).sum(0).astype(np.float32)
        tensors[key + ".in_absmax"] = np.abs(x).max(0).astype(np.float32)
        tensors[key + ".count"] = np.array([x.shape[0]], dtype=np.int64)
    header, blobs, offset = {}, [], 0
    for name, a in tensors.items():
        dtype = "I64" if a.dtype == np.int64 else "F32"
        header[name] = {"dtype": dtype, "shape": list(a.shape),
                        "data_offsets": [offset, offset + a.nbytes]}
        blobs.append(a.tobytes())
        offset += a.nbytes
    text = json.dumps(header)
    text += " " * ((8 - (8 + len(text)) % 8) % 8)
    with open(out + ".tmp", "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text.encode() + b"".join(blobs))
    os.replace(out + ".tmp", out)


if __name__ == "__main__":
    main()
