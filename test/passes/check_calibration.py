#!/usr/bin/env python3
"""Checks --phiq-calibrate's statistics of a small inline-weight model.

usage: check_calibration.py MODULE.mlir TOKENS.i32 SEQ_LEN STATS.safetensors

MODULE is Inputs/calib-tiny.mlir: embedding -> rms_norm -> linear (and a
qkv linear feeding an attention whose values are all zero, so it adds
exactly 0) -> lm_head, with dense<> weights; every token's activations then
depend on that token alone. The statistics are recomputed here with numpy from the
definitions: per input column of each weight, the sum of squares, the
abs-max, the token count and X^T X (when present). Prints one line per
weight and exits non-zero on any mismatch.
"""
import json
import re
import sys

import numpy as np


def read_safetensors(path):
    raw = open(path, "rb").read()
    n = int.from_bytes(raw[:8], "little")
    header = json.loads(raw[8:8 + n])
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        assert info["dtype"] == "F32", (name, info["dtype"])
        a, b = info["data_offsets"]
        out[name] = np.frombuffer(raw[8 + n + a:8 + n + b], dtype="<f4").reshape(info["shape"])
    return out


def main():
    module, tokens_path, seq_len, stats_path = sys.argv[1:5]
    seq_len = int(seq_len)
    text = open(module).read()
    weights = [np.array(json.loads(m.group(1)), dtype=np.float32)
               for m in re.finditer(r"phi\.weight dense<(\[.*?\]\])>", text)]
    table, w, wqkv, head = weights
    tokens = np.fromfile(tokens_path, dtype="<i4")
    tokens = tokens[:len(tokens) // seq_len * seq_len]
    x = table[tokens].astype(np.float64)
    h = x / np.sqrt((x * x).mean(axis=1, keepdims=True) + 1e-5)  # norm weight 1
    y = h @ w.astype(np.float64).T
    stats = read_safetensors(stats_path)
    failures = 0
    # inline.N: the weight's index among the model's phi.weight ops.
    for key, inp in (("inline.2", h), ("inline.3", h), ("inline.4", y)):
        expect = {"in_sumsq": (inp * inp).sum(0), "in_absmax": np.abs(inp).max(0),
                  "count": np.array([len(tokens)]), "hessian": inp.T @ inp}
        for what, ref in expect.items():
            name = f"{key}.{what}"
            if name not in stats:
                if what != "hessian":
                    print(f"{name}: missing")
                    failures += 1
                continue
            got = stats[name].astype(np.float64)
            err = np.abs(got - ref).max() / max(np.abs(ref).max(), 1e-30)
            ok = got.shape == ref.shape and err < 1e-5
            failures += not ok
            print(f"{name} {list(got.shape)} rel err {err:.1e} {'ok' if ok else 'MISMATCH'}")
    extra = sorted(set(stats) - {f"inline.{i}.{s}" for i in (2, 3, 4)
                                 for s in ("in_sumsq", "in_absmax", "count", "hessian")})
    if extra:
        print("unexpected tensors:", extra)
        failures += 1
    print(f"{failures} failed")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
