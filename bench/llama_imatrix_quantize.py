#!/usr/bin/env python3
"""llama.cpp's own quantizer, driven with an importance matrix file.

usage: llama_imatrix_quantize.py IN.gguf OUT.gguf TYPE [IMATRIX]

llama-cpp-python exposes libllama's llama_model_quantize, whose params take
the importance matrix as an array of {name, data, size} records (the
vector llama-quantize builds after reading the file). This reads an imatrix
file the way llama-quantize does -- a GGUF imatrix through the `gguf`
package's reader (mean = in_sum2 / counts per matrix, 1 where a matrix saw
no token), a legacy .dat by its layout (values / ncall) -- and hands the
records to llama.cpp, so llama.cpp quantizes with exactly the importance
the file holds. TYPE is a llama.cpp file type (Q4_0, Q4_K_M, IQ4_NL, ...).
"""
import ctypes
import struct
import sys

import numpy as np


def read_imatrix(path):
    """{GGUF tensor name: float32 mean squared activations} of a file."""
    with open(path, "rb") as f:
        magic = f.read(4)
    if magic == b"GGUF":
        from gguf import GGUFReader
        reader = GGUFReader(path)
        kind = reader.fields["general.type"]
        assert bytes(kind.parts[kind.data[0]]).decode() == "imatrix", "not an imatrix"
        tensors = {t.name: t for t in reader.tensors}
        out = {}
        for name, t in tensors.items():
            if not name.endswith(".in_sum2"):
                continue
            base = name[:-len(".in_sum2")]
            sums = np.asarray(t.data, dtype=np.float32).reshape(-1, int(t.shape[0]))
            counts = np.asarray(tensors[base + ".counts"].data, dtype=np.float32).reshape(-1)
            mean = np.where(counts[:, None] > 0, sums / np.maximum(counts[:, None], 1e-30), 1.0)
            out[base] = mean.astype(np.float32).reshape(-1)
        return out
    raw = open(path, "rb").read()
    (n,), off, out = struct.unpack_from("<i", raw, 0), 4, {}
    for _ in range(n):
        (length,) = struct.unpack_from("<i", raw, off)
        name = raw[off + 4:off + 4 + length].decode()
        off += 4 + length
        ncall, nval = struct.unpack_from("<ii", raw, off)
        off += 8
        values = np.frombuffer(raw, dtype="<f4", count=nval, offset=off)
        off += 4 * nval
        out[name] = (values / max(ncall, 1)).astype(np.float32)
    return out


def quantize(src, dst, ftype_name, imatrix=None, nthread=2):
    import llama_cpp
    params = llama_cpp.llama_model_quantize_default_params()
    params.ftype = getattr(llama_cpp, f"LLAMA_FTYPE_MOSTLY_{ftype_name}")
    params.nthread = nthread
    keep = []
    if imatrix:
        table = read_imatrix(imatrix)
        records = (llama_cpp.llama_model_imatrix_data * (len(table) + 1))()
        for i, (name, values) in enumerate(sorted(table.items())):
            values = np.ascontiguousarray(values, dtype=np.float32)
            keep.append(values)
            records[i].name = name.encode()
            records[i].data = values.ctypes.data_as(ctypes.POINTER(ctypes.c_float))
            records[i].size = values.size
        keep.append(records)
        params.imatrix = ctypes.cast(records, ctypes.POINTER(llama_cpp.llama_model_imatrix_data))
    rc = llama_cpp.llama_model_quantize(src.encode(), dst.encode(), ctypes.byref(params))
    if rc != 0:
        raise RuntimeError(f"llama_model_quantize failed ({rc}) for {dst}")
    return len(keep)


if __name__ == "__main__":
    quantize(sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4] if len(sys.argv) > 4 else None)
