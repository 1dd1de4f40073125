"""Checks PhiQ's block formats (lib/Quant, through phi-quant-blocks) against
ggml itself: the libggml-base that llama-cpp-python ships, called through
ctypes (ggml_quantize_chunk to quantize, the type traits' to_float to
decode).

For every format, on random rows with awkward values and on every 2-D weight
of the tiny models (bf16 widened to f32), without and with an importance
vector:
  * F32/F16/BF16/Q8_0 (and, without importance, Q4_0/Q4_1/Q5_0/Q5_1) must
    be byte-identical to ggml's;
  * ggml's decoder must read our bytes to exactly the floats our decoder
    gives, and our decoder must read ggml's bytes exactly as ggml does;
  * for the K-quants and IQ4_NL (and the legacy formats under importance,
    where ggml searches too) our weighted error sum imp * (x - deq)^2 must
    not exceed ggml's on any tensor.
Prints a table of the errors and exits non-zero on any failure.
"""

import argparse
import concurrent.futures
import ctypes
import importlib.util
import json
import os
import pathlib
import struct
import subprocess
import sys
import time

import numpy as np

FORMATS = {
    # name: (ggml type id, block elements, block bytes)
    "F32": (0, 1, 4),
    "F16": (1, 1, 2),
    "BF16": (30, 1, 2),
    "Q8_0": (8, 32, 34),
    "Q4_0": (2, 32, 18),
    "Q4_1": (3, 32, 20),
    "Q5_0": (6, 32, 22),
    "Q5_1": (7, 32, 24),
    "Q2_K": (10, 256, 84),
    "Q3_K": (11, 256, 110),
    "Q4_K": (12, 256, 144),
    "Q5_K": (13, 256, 176),
    "Q6_K": (14, 256, 210),
    "IQ4_NL": (20, 32, 18),
}
# ggml's quantizer for these is deterministic round-to-nearest.
IDENTICAL = {"F32", "F16", "BF16", "Q8_0", "Q4_0", "Q4_1", "Q5_0", "Q5_1"}
# ... and stays so with an importance vector (ggml ignores it; so does
# PhiQ for the float formats, while its Q8_0 then searches its scales).
IDENTICAL_WITH_IMPORTANCE = {"F32", "F16", "BF16"}
# Searched by ggml; ours must not be worse.
SEARCHED = {"Q2_K", "Q3_K", "Q4_K", "Q5_K", "Q6_K", "IQ4_NL"}
SEARCHED_WITH_IMPORTANCE = SEARCHED | {"Q8_0", "Q4_0", "Q4_1", "Q5_0", "Q5_1"}
MODELS = ["phi35-tiny", "phi4-mini-tiny", "phimoe-tiny"]


class TypeTraits(ctypes.Structure):
    _fields_ = [
        ("type_name", ctypes.c_char_p),
        ("blck_size", ctypes.c_int64),
        ("blck_size_interleave", ctypes.c_int64),
        ("type_size", ctypes.c_size_t),
        ("is_quantized", ctypes.c_bool),
        ("to_float", ctypes.c_void_p),
        ("from_float_ref", ctypes.c_void_p),
    ]


ToFloat = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_int64)


class Ggml:
    def __init__(self):
        spec = importlib.util.find_spec("llama_cpp")
        if spec is None or not spec.submodule_search_locations:
            sys.exit("FAIL: llama-cpp-python is not installed "
                     "(pip install -r requirements-test.txt)")
        libdir = pathlib.Path(list(spec.submodule_search_locations)[0]) / "lib"
        self.lib = ctypes.CDLL(str(libdir / "libggml-base.so"))
        self.lib.ggml_quantize_chunk.restype = ctypes.c_size_t
        self.lib.ggml_quantize_chunk.argtypes = [
            ctypes.c_int, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_int64,
            ctypes.c_int64, ctypes.c_int64, ctypes.c_void_p]
        self.lib.ggml_get_type_traits.restype = ctypes.POINTER(TypeTraits)
        self.lib.ggml_get_type_traits.argtypes = [ctypes.c_int]
        self.lib.ggml_quantize_init.argtypes = [ctypes.c_int]
        self.pool = concurrent.futures.ThreadPoolExecutor(os.cpu_count() or 2)

    def check_traits(self, name):
        t, elems, nbytes = FORMATS[name]
        traits = self.lib.ggml_get_type_traits(t).contents
        if traits.blck_size != elems or traits.type_size != nbytes:
            raise SystemExit(f"FAIL: ggml's {name} is {traits.blck_size} "
                             f"elements / {traits.type_size} bytes per block")

    def quantize(self, name, x, importance, buffer=None):
        """ggml's bytes for the rows of x, rows spread over threads (ctypes
        releases the GIL; rows are independent in every format). Written
        into `buffer` (a large enough uint8 array) when given."""
        t, elems, nbytes = FORMATS[name]
        rows, cols = x.shape
        row_bytes = cols // elems * nbytes
        out = (np.empty(rows * row_bytes, dtype=np.uint8) if buffer is None
               else buffer[:rows * row_bytes])
        self.lib.ggml_quantize_init(t)
        imp = importance.ctypes.data if importance is not None else None
        step = max(1, (1 << 16) // cols)

        def run(r0):
            r1 = min(rows, r0 + step)
            chunk = np.ascontiguousarray(x[r0:r1])
            dst = out[r0 * row_bytes:r1 * row_bytes]
            written = self.lib.ggml_quantize_chunk(
                t, chunk.ctypes.data, dst.ctypes.data, 0, r1 - r0, cols, imp)
            assert written == (r1 - r0) * row_bytes

        list(self.pool.map(run, range(0, rows, step)))
        return out

    def dequantize(self, name, data, count, out=None):
        """ggml's decoding of `count` values, into `out` when given."""
        t = FORMATS[name][0]
        data = np.ascontiguousarray(data)
        if out is None:
            out = np.empty(count, dtype=np.float32)
        if name == "F32":  # ggml has no to_float for its own float type
            out[:] = data.view(np.float32)
            return out
        traits = self.lib.ggml_get_type_traits(t).contents
        ToFloat(traits.to_float)(data.ctypes.data, out.ctypes.data, count)
        return out


def read_safetensors_2d(path):
    """Name -> float32 matrix for every 2-D tensor (bf16/f16/f32)."""
    raw = pathlib.Path(path).read_bytes()
    (header_len,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8:8 + header_len])
    base = 8 + header_len
    out = {}
    for name, info in header.items():
        if name == "__metadata__" or len(info["shape"]) != 2:
            continue
        begin, end = info["data_offsets"]
        blob = raw[base + begin:base + end]
        if info["dtype"] == "BF16":
            bits = np.frombuffer(blob, dtype=np.uint16).astype(np.uint32) << 16
            values = bits.view(np.float32)
        elif info["dtype"] == "F16":
            values = np.frombuffer(blob, dtype=np.float16).astype(np.float32)
        elif info["dtype"] == "F32":
            values = np.frombuffer(blob, dtype=np.float32)
        else:
            continue
        out[name] = values.reshape(info["shape"]).copy()
    return out


def awkward_rows(rows, cols, seed):
    """Random rows with the values that break careless rounding: ties of
    binary16, subnormals, signed zeros, constants, huge and tiny blocks."""
    rng = np.random.default_rng(seed)
    x = (rng.standard_normal((rows, cols)) *
         np.exp(rng.uniform(-6, 1, (rows, 1)))).astype(np.float32)
    flat = x.reshape(-1, 32)
    flat[0] = 0.0
    flat[1] = -0.0
    flat[2, :] = 0.37
    flat[3, :] = -1e-3
    flat[4] *= 3e3                      # |x| up to ~1e4: scales near fp16 max
    flat[5] *= 1e-6                     # scales in fp16 subnormals
    flat[6, ::2] = -0.0
    flat[7] = np.abs(flat[7])           # all positive
    flat[8] = -np.abs(flat[8])          # all negative
    flat[9, 5] = 40.0                   # one outlier
    # Exact binary16 midpoints and their neighbours.
    halves = rng.integers(0, 0x7bff, 32).astype(np.uint16).view(np.float16)
    nxt = (halves.view(np.uint16) + 1).view(np.float16)
    mids = ((halves.astype(np.float64) + nxt.astype(np.float64)) / 2)
    flat[10] = mids.astype(np.float32)
    flat[11] = -mids.astype(np.float32)
    flat[12] = np.nextafter(mids.astype(np.float32), np.float32(np.inf))
    # bfloat16 ties.
    flat[13] = (rng.integers(0x3c000000, 0x42000000, 32).astype(np.uint32)
                & 0xffff0000 | 0x8000).view(np.float32)
    flat[14, :16] = 1.0
    flat[14, 16:] = -1.0
    return x


def run_ours(tool, work, tag, x, formats, importance_path):
    """Runs phi-quant-blocks on the rows of x; returns a loader of our
    bytes and the digest of our decoded floats per format."""
    rows, cols = x.shape
    src = work / f"{tag}.f32"
    x.tofile(src)
    outdir = work / tag
    cmd = [tool, f"--cols={cols}", "--formats=" + ",".join(formats),
           str(src), "-o", str(outdir)]
    if importance_path:
        cmd.append(f"--importance={importance_path}")
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    digests = {}
    for line in out.splitlines():
        fields = line.split()
        digests[fields[0]] = int(fields[fields.index("digest") + 1], 16)
    src.unlink()

    def load(name):
        """Reads (and deletes: the scratch folder stays small) one format."""
        path = outdir / f"{name}.bin"
        data = np.fromfile(path, dtype=np.uint8)
        path.unlink()
        return data, digests[name]
    return load


_DIGEST_CHUNK = 1 << 20
_DIGEST_K = 0x9E3779B97F4A7C15
_DIGEST_BASE = ((np.arange(_DIGEST_CHUNK, dtype=np.uint64) * np.uint64(2) +
                 np.uint64(1)) * np.uint64(_DIGEST_K))


def digest(values):
    """phi-quant-blocks' digest of decoded floats: sum of bits(y_i) *
    (2i + 1) * 0x9E3779B97F4A7C15 modulo 2^64 (in chunks, with no large
    temporaries)."""
    bits = values.view(np.uint32)
    mult = np.empty(_DIGEST_CHUNK, dtype=np.uint64)
    prod = np.empty(_DIGEST_CHUNK, dtype=np.uint64)
    total = 0
    for start in range(0, bits.size, _DIGEST_CHUNK):
        n = min(_DIGEST_CHUNK, bits.size - start)
        np.add(_DIGEST_BASE[:n], np.uint64((2 * start * _DIGEST_K) % 2**64),
               out=mult[:n])
        np.multiply(bits[start:start + n], mult[:n], out=prod[:n])
        total = (total + int(prod[:n].sum(dtype=np.uint64))) % 2**64
    return total


def decode_ours(tool, work, tag, name, data, cols):
    """Our decoder's floats for block bytes `data` (phi-quant-blocks
    --decode)."""
    path = work / f"{tag}.{name}.ggml.bin"
    data.tofile(path)
    out = work / f"{tag}.{name}.ggml.f32"
    subprocess.run([tool, f"--decode={name}", f"--cols={cols}", str(path),
                    "-o", str(out)], check=True)
    values = np.fromfile(out, dtype=np.float32)
    path.unlink()
    out.unlink()
    return values


def weighted_errors(x64, y, importance, spans, scratch):
    """Per-span (row range) sum of importance * (x - y)^2 in float64;
    `scratch` is a float64 buffer shaped like x64 (reused: fresh 100 MB
    temporaries per call would cost more than the arithmetic)."""
    np.subtract(x64, y.reshape(x64.shape), out=scratch)
    if importance is None:
        per_row = np.einsum("ij,ij->i", scratch, scratch)
    else:
        per_row = np.einsum("ij,ij,j->i", scratch, scratch,
                            importance.astype(np.float64))
    return [float(per_row[a:b].sum()) for a, b in spans]


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--tool", required=True, help="phi-quant-blocks")
    ap.add_argument("--models", required=True, help="models folder")
    ap.add_argument("--work", required=True, help="scratch folder")
    args = ap.parse_args()
    started = time.time()
    work = pathlib.Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    ggml = Ggml()
    for name in FORMATS:
        ggml.check_traits(name)

    # Matrices grouped by row length: all tensors of one length are stacked
    # (rows are quantized independently), with each tensor's row span.
    groups = {}  # cols -> list of (label, matrix)
    for model in MODELS:
        tensors = read_safetensors_2d(
            pathlib.Path(args.models) / model / "model.safetensors")
        for name, m in sorted(tensors.items()):
            groups.setdefault(m.shape[1], []).append((f"{model}:{name}", m))
    groups.setdefault(256, []).append(("random:awkward", awkward_rows(96, 256, 1)))
    groups.setdefault(512, []).append(("random:wide", awkward_rows(32, 512, 2)))
    rng = np.random.default_rng(3)
    heavy = rng.standard_t(2.5, (64, 512)).astype(np.float32) * 0.02
    heavy[::3, rng.random(512) < 0.5] = 0.0       # sparse rows
    groups[512].append(("random:heavy-tailed", heavy))
    groups[512].append(("random:uniform", rng.uniform(
        -0.1, 0.3, (32, 512)).astype(np.float32)))

    failures = []
    skipped = []
    # (source, format, mode) -> [our total, ggml total, tensors, not worse]
    totals = {}
    byte_status = {}
    for cols, members in sorted(groups.items()):
        stacked = np.ascontiguousarray(np.concatenate([m for _, m in members]))
        stacked64 = stacked.astype(np.float64)
        # Buffers reused by every format (fresh 100 MB arrays per format
        # would spend more time in page faults than in arithmetic).
        scratch = np.empty_like(stacked64)
        ref_buffer = np.empty(stacked.size * 4, dtype=np.uint8)
        ours_decoded = np.empty(stacked.size, dtype=np.float32)
        ggml_decoded = np.empty(stacked.size, dtype=np.float32)
        spans, row = [], 0
        for _, m in members:
            spans.append((row, row + m.shape[0]))
            row += m.shape[0]
        formats = [f for f, (_, elems, _) in FORMATS.items() if cols % elems == 0]
        left_out = [f for f in FORMATS if f not in formats]
        if left_out:
            for label, m in members:
                skipped.append(f"{label} ({m.shape[0]}x{cols}): "
                               + ",".join(left_out))
        rng = np.random.default_rng(cols)
        # A fixed importance vector, a stand-in for the mean squared
        # activations an imatrix holds: positive for the models' row
        # lengths, with some exact zeros (dead columns) for the random-only
        # length 512.
        importance = (rng.gamma(0.7, 1.0, cols) + 0.02).astype(np.float32)
        if cols == 512:
            importance[rng.random(cols) < 0.1] = 0.0
        importance_path = work / f"importance.{cols}.f32"
        importance.tofile(importance_path)
        for mode, imp in (("plain", None), ("importance", importance)):
            tag = f"c{cols}.{mode}"
            ours = run_ours(args.tool, work, tag, stacked, formats,
                            importance_path if imp is not None else None)
            for f in formats:
                our_bytes, our_digest = ours(f)
                ref_bytes = ggml.quantize(f, stacked, imp, ref_buffer)
                count = stacked.size
                # ggml reads our bytes as our decoder does (compared through
                # the digest, so no file of floats per format is needed) ...
                our_floats = ggml.dequantize(f, our_bytes, count, ours_decoded)
                if digest(our_floats) != our_digest:
                    failures.append(f"{f} {mode} cols={cols}: ggml decodes our "
                                    "bytes differently from our decoder")
                # ... and our decoder reads ggml's bytes as ggml does (when
                # the bytes are the same, the check above covered it).
                ggml_floats = ggml.dequantize(f, ref_bytes, count,
                                              ggml_decoded)
                same = np.array_equal(our_bytes, ref_bytes)
                if not same:
                    ours_on_ggml = decode_ours(args.tool, work, tag, f,
                                               ref_bytes, cols)
                    if not np.array_equal(ours_on_ggml.view(np.uint32),
                                          ggml_floats.view(np.uint32)):
                        failures.append(f"{f} {mode} cols={cols}: our decoder "
                                        "reads ggml's bytes differently")
                identical = f in (IDENTICAL if imp is None else
                                  IDENTICAL_WITH_IMPORTANCE)
                key = (f, mode)
                if identical:
                    byte_status[key] = byte_status.get(key, True) and same
                    if not same:
                        diff = np.flatnonzero(our_bytes != ref_bytes)
                        failures.append(f"{f} {mode} cols={cols}: bytes differ "
                                        f"from ggml at {diff.size} offsets "
                                        f"(first {diff[0]})")
                if f == "F32":
                    continue
                e_ggml = weighted_errors(stacked64, ggml_floats, imp, spans,
                                         scratch)
                e_ours = (e_ggml if same else weighted_errors(
                    stacked64, our_floats, imp, spans, scratch))
                searched = f in (SEARCHED if imp is None else
                                 SEARCHED_WITH_IMPORTANCE)
                for (label, _), a, b in zip(members, e_ours, e_ggml):
                    source = "random" if label.startswith("random:") else "models"
                    t = totals.setdefault((source, f, mode),
                                          [0.0, 0.0, 0, 0, 0.0])
                    t[0] += a
                    t[1] += b
                    t[2] += 1
                    t[3] += a <= b
                    t[4] = max(t[4], a / b if b > 0 else float(a > 0))
                    if searched and a > b:
                        failures.append(f"{f} {mode} {label}: weighted error "
                                        f"{a:.6e} > ggml's {b:.6e}")

    print("weighted squared error, summed over tensors (ours <= ggml per "
          "tensor is the requirement for searched formats)")
    print(f"{'source':7} {'format':7} {'mode':10} {'ours':>12} {'ggml':>12} "
          f"{'ours/ggml':>9} {'worst':>7} {'not worse':>10}  bytes")
    modes = ["plain", "importance"]
    for (source, f, mode), (a, b, n, ok, worst) in sorted(
            totals.items(), key=lambda kv: (kv[0][0], modes.index(kv[0][2]),
                                            list(FORMATS).index(kv[0][1]))):
        ratio = a / b if b > 0 else (1.0 if a == 0 else float("inf"))
        status = ("identical" if byte_status.get((f, mode)) else
                  "DIFFER" if (f, mode) in byte_status else "searched")
        print(f"{source:7} {f:7} {mode:10} {a:12.5e} {b:12.5e} {ratio:9.4f} "
              f"{worst:7.4f} {ok:>4}/{n:<5}  {status}")
    if skipped:
        print("skipped (K-quants need rows of a multiple of 256 values):")
    for s in skipped:
        print(f"  {s}")
    print(f"checked in {time.time() - started:.1f} s")
    for msg in failures:
        print("FAIL:", msg)
    if failures:
        return 1
    print("OK: every format matches ggml")
    return 0


if __name__ == "__main__":
    sys.exit(main())
