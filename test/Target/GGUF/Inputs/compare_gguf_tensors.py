#!/usr/bin/env python3
"""Checks, with gguf-py, that two GGUF files hold the same tensors.

usage: compare_gguf_tensors.py A.gguf B.gguf

Every tensor of A must be in B and the other way round, with the same ggml
type, the same dims (exactly: no trailing 1s either) and the same bytes.
Prints the tensor count and the bytes compared; exits non-zero naming the
first difference.
"""
import sys

import numpy as np
from gguf import GGUFReader


def dims(tensor):
    return [int(d) for d in tensor.shape]


def main():
    a, b = GGUFReader(sys.argv[1]), GGUFReader(sys.argv[2])
    ta = {t.name: t for t in a.tensors}
    tb = {t.name: t for t in b.tensors}
    if set(ta) != set(tb):
        sys.exit(f"tensor names differ: only in A {sorted(set(ta) - set(tb))}, "
                 f"only in B {sorted(set(tb) - set(ta))}")
    total = 0
    for name, x in ta.items():
        y = tb[name]
        if x.tensor_type != y.tensor_type:
            sys.exit(f"{name}: type {x.tensor_type.name} vs {y.tensor_type.name}")
        if dims(x) != dims(y):
            sys.exit(f"{name}: dims {dims(x)} vs {dims(y)}")
        bx = np.asarray(x.data).view(np.uint8).tobytes()
        by = np.asarray(y.data).view(np.uint8).tobytes()
        if bx != by:
            sys.exit(f"{name}: bytes differ")
        total += len(bx)
    print(f"{len(ta)} tensors, {total} bytes identical")


if __name__ == "__main__":
    main()
