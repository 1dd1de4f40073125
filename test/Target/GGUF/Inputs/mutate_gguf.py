#!/usr/bin/env python3
"""Copies a GGUF file with one thing broken, for the importer's error tests.

usage: mutate_gguf.py SRC DST MUTATION

Mutations:
  arch=NAME            general.architecture becomes NAME
  drop-key=KEY         KEY is left out
  extra-key=KEY        KEY (u32 1) is added
  u64-counts           every u32 key is written as u64 (as some writers do)
  drop-tensor=NAME     tensor NAME is left out
  extra-tensor=NAME    an F32 tensor NAME of 4 zeros is added
  shape=NAME           tensor NAME loses its last row (ggml's last dim - 1)
  type=NAME:TYPE       tensor NAME keeps its shape but has ggml type TYPE
                       (zero bytes)

Everything else is copied as it is, through gguf-py (an independent writer:
its tensor order and alignment differ from PhiQ's).
"""
import sys

import numpy as np
from gguf import GGMLQuantizationType as QT
from gguf import GGUFReader, GGUFValueType as VT, GGUFWriter
from gguf.constants import GGML_QUANT_SIZES


def byte_rows(data, shape, nbytes):
    """The tensor's bytes as [rows..., row bytes] (gguf-py's raw layout)."""
    rows = list(reversed([int(d) for d in shape[1:]]))
    count = int(np.prod(rows)) if rows else 1
    return np.asarray(data).view(np.uint8).reshape(rows + [nbytes // count])


def main():
    src, dst, mutation = sys.argv[1:4]
    kind, _, arg = mutation.partition("=")
    reader = GGUFReader(src)
    arch = reader.fields["general.architecture"].contents()
    if kind == "arch":
        arch = arg
    writer = GGUFWriter(dst, arch)
    for name, field in reader.fields.items():
        if name.startswith("GGUF.") or name == "general.architecture":
            continue
        if kind == "drop-key" and name == arg:
            continue
        vtype = field.types[0]
        sub = field.types[-1] if vtype == VT.ARRAY else None
        if kind == "u64-counts" and vtype == VT.UINT32:
            vtype = VT.UINT64
        writer.add_key_value(name, field.contents(), vtype, sub)
    if kind == "extra-key":
        writer.add_key_value(arg, 1, VT.UINT32)
    for t in reader.tensors:
        shape = [int(d) for d in t.shape]
        if kind == "drop-tensor" and t.name == arg:
            continue
        data = byte_rows(t.data, shape, int(t.n_bytes))
        ttype = t.tensor_type
        if kind == "shape" and t.name == arg:
            data = data[:-1] if data.ndim > 1 else data[: -data.shape[0] // shape[0]]
        if kind == "type" and t.name == arg.partition(":")[0]:
            ttype = QT[arg.partition(":")[2]]
            block, size = GGML_QUANT_SIZES[ttype]
            rows = list(data.shape[:-1])
            data = np.zeros(rows + [shape[0] // block * size], dtype=np.uint8)
        writer.add_tensor(t.name, data, raw_dtype=ttype)
    if kind == "extra-tensor":
        writer.add_tensor(arg, np.zeros(4, dtype=np.float32))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()


if __name__ == "__main__":
    main()
