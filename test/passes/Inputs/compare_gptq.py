"""Compares GPTQ and round-to-nearest packed stores on the calibration data.

usage: compare_gptq.py FORMAT F32.safetensors RTN.safetensors GPTQ.safetensors
                       CALIB.safetensors

F32 holds the float weights (--phiq-quantize-weights type=F32: 4-byte
blocks); the others hold FORMAT blocks (Q4_0 decoded here from ggml's
layout). For each tensor prints whether the GPTQ bytes equal the RTN bytes
(tensors without a Hessian) or whether GPTQ's output error
sum_r d_r^T H d_r (d = decoded - float) is below RTN's.
"""
import json
import struct
import sys

import numpy as np


def read(path):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    out = {}
    for k, e in header.items():
        if k == "__metadata__":
            continue
        b, t = e["data_offsets"]
        dt = {"U8": np.uint8, "F32": np.float32, "I64": np.int64}[e["dtype"]]
        out[k] = np.frombuffer(data[b:t], dtype=dt).reshape(e["shape"])
    return out


def decode_q4_0(raw, n):
    blocks = raw.reshape(-1, 18)
    d = blocks[:, :2].copy().view(np.float16).astype(np.float32)
    q = blocks[:, 2:]
    codes = np.concatenate([q & 15, q >> 4], axis=1).astype(np.float32) - 8
    return (codes * d).reshape(-1)[:n]


def main():
    fmt, f32, rtn, gptq, calib = sys.argv[1:6]
    assert fmt == "Q4_0"
    f32, rtn, gptq, calib = read(f32), read(rtn), read(gptq), read(calib)
    for name in sorted(gptq):
        w = f32[name].view(np.float32)
        if name + ".hessian" not in calib:
            same = np.array_equal(rtn[name], gptq[name])
            print(f"{name} {'identical to' if same else 'DIFFERS from'} round-to-nearest")
            continue
        h = calib[name + ".hessian"].astype(np.float64)
        cols = h.shape[0]
        w = w.reshape(-1, cols).astype(np.float64)

        def err(raw):
            d = decode_q4_0(raw, w.size).reshape(w.shape) - w
            return float(np.einsum("ra,ab,rb->", d, h, d))

        e_rtn, e_gptq = err(rtn[name]), err(gptq[name])
        verdict = "below" if e_gptq < e_rtn else "NOT below"
        print(f"{name} gptq {verdict} round-to-nearest ({e_gptq:.4g} vs {e_rtn:.4g})")


if __name__ == "__main__":
    main()
