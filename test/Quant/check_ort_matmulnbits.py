#!/usr/bin/env python3
"""Our MatMulNBits blocks against ONNX Runtime's own quantizer.

usage: check_ort_matmulnbits.py --tool phi-quant-blocks --work DIR

For every MatMulNBits format (4 bits with blocks of 16..128, 8 bits with
32..128, symmetric and asymmetric, fp32 and fp16 scales) a MatMul weight
[K, N] is quantized by the kernels behind onnxruntime's
MatMulNBitsQuantizer (its DefaultWeightOnlyQuantizer.qbits_block_quant
calls quantize_matmul_4bits / quantize_matmul_8bits with exactly these
buffers; the quantizer module itself needs the onnx_ir package, which this
environment lacks), and the same weight rows by phi-quant-blocks. The codes (B),
scales and zero points must be identical bytes. The weights are awkward on
purpose: random normal rows, an all-zero block, a constant block, an
all-positive and an all-negative block, exact ties, and values of very
different magnitudes. fp16-scale formats are checked on an fp16 model (ORT
writes scales in the weight's type). Prints a line per format and fails
with a FAIL line per difference.
"""
import argparse
import os
import subprocess
import sys

import numpy as np
from onnxruntime.capi._pybind_state import (quantize_matmul_4bits,
                                            quantize_matmul_8bits)

K, N = 512, 24


def weights():
    rng = np.random.default_rng(0)
    w = rng.standard_normal((N, K)).astype(np.float32) * 0.05
    w[0, :128] = 0.0                       # all-zero blocks
    w[1, :128] = 0.03                      # constant positive
    w[2, :128] = np.abs(w[2, :128]) + 0.01  # all positive
    w[3, :128] = -np.abs(w[3, :128]) - 0.01  # all negative
    w[4, :] = np.round(w[4, :] * 64) / 64  # many ties
    w[5, :] *= 1000.0
    w[6, :] *= 1e-4
    w[7, 5] = 0.9                          # one outlier
    return w


def ort_quantize(w, bits, block, symmetric, dtype):
    """qbits_block_quant's QOperator branch for a [K, N] weight."""
    src = np.ascontiguousarray(w.T.astype(dtype))
    blocks = (K + block - 1) // block
    kpack = 8 // bits
    packed = np.zeros((N, blocks, block * bits // 8), np.uint8)
    zero_points = np.zeros((N, (blocks + kpack - 1) // kpack), np.uint8)
    scales = np.zeros((N, blocks), dtype)
    quantize = quantize_matmul_4bits if bits == 4 else quantize_matmul_8bits
    quantize(packed, src, scales, zero_points, block, N, K, symmetric)
    return packed, scales, None if symmetric else zero_points


def ours(tool, work, rows_f32, name, bits, block, symmetric, fp16):
    src = os.path.join(work, "rows.f32")
    rows_f32.astype("<f4").tofile(src)
    out = os.path.join(work, name)
    os.makedirs(out, exist_ok=True)
    subprocess.run([tool, src, "-o", out, f"--cols={K}", f"--formats={name}"],
                   check=True, stdout=subprocess.DEVNULL)
    raw = np.fromfile(os.path.join(out, f"{name}.bin"), np.uint8)
    blocks = K // block
    scale_bytes = 2 if fp16 else 4
    zp_bytes = 0 if symmetric else 1
    code_bytes = block * bits // 8
    raw = raw.reshape(N, blocks, scale_bytes + zp_bytes + code_bytes)
    scales = raw[..., :scale_bytes].copy().view(np.float16 if fp16 else np.float32)[..., 0]
    zps = raw[..., scale_bytes] if zp_bytes else None
    codes = raw[..., scale_bytes + zp_bytes:]
    if zps is not None and bits == 4:
        # ORT packs zero points two per byte per row, low nibble first.
        padded = np.zeros((N, (blocks + 1) // 2 * 2), np.uint8)
        padded[:, :blocks] = zps
        zps = padded[:, 0::2] | (padded[:, 1::2] << 4)
    return codes, scales, zps


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--tool", required=True)
    parser.add_argument("--work", required=True)
    args = parser.parse_args()
    os.makedirs(args.work, exist_ok=True)
    w = weights()
    failures = 0
    for bits, blocks in ((4, (16, 32, 64, 128)), (8, (32, 64, 128))):
        for block in blocks:
            for fp16 in (False, True):
                for symmetric in (True, False):
                    name = f"MNB{bits}_G{block}_{'SYM' if symmetric else 'ASYM'}" + ("_F16" if fp16 else "")
                    dtype = np.float16 if fp16 else np.float32
                    rows = w.astype(dtype).astype(np.float32)
                    oc, os_, oz = ort_quantize(w, bits, block, symmetric, dtype)
                    mc, ms, mz = ours(args.tool, args.work, rows, name, bits, block, symmetric, fp16)
                    problems = []
                    if oc.tobytes() != mc.tobytes():
                        problems.append(f"codes differ in {int((oc.reshape(mc.shape) != mc).sum())} bytes")
                    if os_.astype(dtype).tobytes() != ms.astype(dtype).tobytes():
                        problems.append("scales differ")
                    if not symmetric and oz.reshape(mz.shape).tobytes() != mz.tobytes():
                        problems.append("zero points differ")
                    if symmetric and oz is not None:
                        problems.append("ORT wrote zero points for a symmetric model")
                    if problems:
                        failures += 1
                        print(f"FAIL {name}: " + "; ".join(problems))
                    else:
                        parts = "codes, scales" + ("" if symmetric else ", zero points")
                        print(f"{name:<18} {parts}: identical to onnxruntime")
    if failures:
        return 1
    print("OK: every MatMulNBits format matches onnxruntime's quantizer")
    return 0


if __name__ == "__main__":
    sys.exit(main())
