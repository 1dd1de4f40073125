#!/usr/bin/env python3
"""Checks PhiQ's GGUF writer and reader against gguf-py, an independent
implementation (llama.cpp's own Python package).

1. The sample file written by `phi-gguf-dump --write-sample` is read with
   gguf.GGUFReader; every key, value type, value, tensor name, ggml type,
   shape, offset and byte must be the ones the sample promises (the values
   below mirror writeSample() in tools/phi-gguf-dump/phi-gguf-dump.cpp).
2. The same file is read back through `phi-gguf-dump --array-items=0 --crc`
   and the dump must agree with gguf-py's view of it, field by field.
3. A file written by gguf.GGUFWriter is dumped by phi-gguf-dump, which must
   agree with gguf-py again: our reader accepts the reference writer's files.

Exits non-zero with a message naming the first difference.
"""
import argparse
import os
import re
import struct
import subprocess
import sys
import zlib

import numpy as np
from gguf import GGMLQuantizationType as QT
from gguf import GGUFReader, GGUFValueType as VT, GGUFWriter

FAILURES = []


def check(condition, message):
    if not condition:
        FAILURES.append(message)


# --- What the sample holds ------------------------------------------------

I64_MIN, I64_MAX, U64_MAX = -(2**63), 2**63 - 1, 2**64 - 1

# key -> (type, element type or None, value)
SAMPLE_KVS = {
    "general.architecture": (VT.STRING, None, "phiq-sample"),
    "sample.u8": (VT.UINT8, None, 200),
    "sample.i8": (VT.INT8, None, -100),
    "sample.u16": (VT.UINT16, None, 60000),
    "sample.i16": (VT.INT16, None, -30000),
    "sample.u32": (VT.UINT32, None, 4000000000),
    "sample.i32": (VT.INT32, None, -2000000000),
    "sample.f32": (VT.FLOAT32, None, float(np.float32(3.14159265))),
    "sample.bool": (VT.BOOL, None, True),
    "sample.str": (VT.STRING, None, 'h\u00e9llo "quoted"\n\ttab\\ \x01 end'),
    "sample.u64": (VT.UINT64, None, U64_MAX),
    "sample.i64": (VT.INT64, None, I64_MIN),
    "sample.f64": (VT.FLOAT64, None, -2.718281828459045),
    "sample.empty_str": (VT.STRING, None, ""),
    "sample.arr.u8": (VT.ARRAY, VT.UINT8, [0, 1, 255]),
    "sample.arr.i8": (VT.ARRAY, VT.INT8, [-128, 0, 127]),
    "sample.arr.u16": (VT.ARRAY, VT.UINT16, [0, 65535]),
    "sample.arr.i16": (VT.ARRAY, VT.INT16, [-32768, 32767]),
    "sample.arr.u32": (VT.ARRAY, VT.UINT32, [1, 2, 3, 4294967295]),
    "sample.arr.i32": (VT.ARRAY, VT.INT32, [-1, 0, 2147483647]),
    "sample.arr.f32": (VT.ARRAY, VT.FLOAT32,
                       [float(np.float32(x)) for x in (0.5, -1.25, 1e-8)]),
    "sample.arr.bool": (VT.ARRAY, VT.BOOL, [True, False, True]),
    "sample.arr.str": (VT.ARRAY, VT.STRING, ["a", "", "\u00fcn\u00efq", "x y"]),
    "sample.arr.u64": (VT.ARRAY, VT.UINT64, [0, U64_MAX]),
    "sample.arr.i64": (VT.ARRAY, VT.INT64, [I64_MIN, I64_MAX]),
    "sample.arr.f64": (VT.ARRAY, VT.FLOAT64, [1e300, -0.0]),
    "sample.arr.empty": (VT.ARRAY, VT.UINT32, []),
}


def pattern(count, seed):
    """Bytes of the quantized sample tensors: (i * 31 + seed) mod 256."""
    return bytes((i * 31 + seed) & 0xFF for i in range(count))


def f16_bytes(values):
    return np.array(values, dtype="<f2").tobytes()


def bf16_bytes(values):
    bits = np.array(values, dtype="<f4").view("<u4") >> 16
    return bits.astype("<u2").tobytes()


# name -> (ggml type, dims in ggml order, bytes)
SAMPLE_TENSORS = {
    "sample.f32": (QT.F32, [4, 3],
                   np.array([i * 0.25 - 1 for i in range(12)], "<f4").tobytes()),
    "sample.f16": (QT.F16, [8], f16_bytes([i * 0.5 - 2 for i in range(8)])),
    "sample.bf16": (QT.BF16, [16], bf16_bytes([i * 0.125 for i in range(16)])),
    "sample.q8_0": (QT.Q8_0, [64, 2], pattern(4 * 34, 3)),
    "sample.q4_k": (QT.Q4_K, [256, 1, 2], pattern(2 * 144, 4)),
    "sample.iq4_nl": (QT.IQ4_NL, [32, 1, 1, 2], pattern(2 * 18, 5)),
}


# --- gguf-py's view of a file ---------------------------------------------

def field_view(field):
    """(type, element type or None, python value) of a gguf-py field."""
    vtype = VT(int(field.parts[2][0]))
    if vtype != VT.ARRAY:
        return vtype, None, field.contents()
    # parts: key length, key, type, element type, count, items...; gguf-py's
    # `types` drops the element type of empty arrays, the parts keep it.
    return vtype, VT(int(field.parts[3][0])), field.contents()


def same_value(vtype, a, b):
    """Exact equality; floats by their bits so -0.0 and nan count."""
    if vtype == VT.FLOAT32:
        return struct.pack("<f", a) == struct.pack("<f", b)
    if vtype == VT.FLOAT64:
        return struct.pack("<d", a) == struct.pack("<d", b)
    return type(a) is type(b) and a == b if vtype == VT.BOOL else a == b


def same_view(a, b):
    (type_a, elem_a, value_a), (type_b, elem_b, value_b) = a, b
    if (type_a, elem_a) != (type_b, elem_b):
        return False
    if type_a != VT.ARRAY:
        return same_value(type_a, value_a, value_b)
    return len(value_a) == len(value_b) and all(
        same_value(elem_a, x, y) for x, y in zip(value_a, value_b))


def check_sample_with_gguf_py(path, alignment):
    reader = GGUFReader(path)
    check(reader.alignment == alignment,
          f"gguf-py alignment {reader.alignment}, expected {alignment}")
    check(reader.data_offset % alignment == 0,
          f"data offset {reader.data_offset} not aligned to {alignment}")
    expected = dict(SAMPLE_KVS)
    if alignment != 32:
        expected["general.alignment"] = (VT.UINT32, None, alignment)
    keys = [k for k in reader.fields if not k.startswith("GGUF.")]
    check(keys == list(SAMPLE_KVS) + (["general.alignment"]
                                      if alignment != 32 else []),
          f"gguf-py keys {keys}")
    for key, want in expected.items():
        field = reader.get_field(key)
        if field is None:
            check(False, f"gguf-py: key {key} missing")
            continue
        got = field_view(field)
        check(same_view(got, want), f"gguf-py: key {key} is {got}, expected {want}")

    names = [t.name for t in reader.tensors]
    check(names == list(SAMPLE_TENSORS), f"gguf-py tensors {names}")
    for tensor in reader.tensors:
        if tensor.name not in SAMPLE_TENSORS:
            continue
        qtype, dims, data = SAMPLE_TENSORS[tensor.name]
        check(tensor.tensor_type == qtype,
              f"{tensor.name}: type {tensor.tensor_type.name}, expected {qtype.name}")
        check(list(map(int, tensor.shape)) == dims,
              f"{tensor.name}: shape {list(tensor.shape)}, expected {dims}")
        check(tensor.n_bytes == len(data),
              f"{tensor.name}: {tensor.n_bytes} bytes, expected {len(data)}")
        check(tensor.data_offset % alignment == 0,
              f"{tensor.name}: data at {tensor.data_offset} not aligned")
        check(tensor.data.tobytes() == data, f"{tensor.name}: bytes differ")
    f32 = reader.tensors[0]
    check(f32.data.dtype == np.float32 and f32.data.shape == (3, 4),
          f"sample.f32 reads as {f32.data.dtype} {f32.data.shape}")
    return reader


# --- phi-gguf-dump's view of a file ---------------------------------------

TYPE_NAMES = {"u8": VT.UINT8, "i8": VT.INT8, "u16": VT.UINT16,
              "i16": VT.INT16, "u32": VT.UINT32, "i32": VT.INT32,
              "f32": VT.FLOAT32, "bool": VT.BOOL, "str": VT.STRING,
              "u64": VT.UINT64, "i64": VT.INT64, "f64": VT.FLOAT64}
ESCAPES = {"\\": "\\", '"': '"', "n": "\n", "t": "\t", "r": "\r"}


class ValueParser:
    """Parses GGUFValue::print's output."""

    def __init__(self, text):
        self.text, self.pos = text, 0

    def string(self):
        assert self.text[self.pos] == '"', self.text[self.pos:]
        self.pos += 1
        out = []
        while self.text[self.pos] != '"':
            c = self.text[self.pos]
            if c == "\\":
                e = self.text[self.pos + 1]
                if e == "x":
                    out.append(chr(int(self.text[self.pos + 2:self.pos + 4], 16)))
                    self.pos += 4
                    continue
                out.append(ESCAPES[e])
                self.pos += 2
                continue
            out.append(c)
            self.pos += 1
        self.pos += 1
        return "".join(out)

    def scalar(self, vtype):
        if vtype == VT.STRING:
            return self.string()
        match = re.compile(r"[^,\]]+").match(self.text, self.pos)
        token = match.group(0)
        self.pos = match.end()
        if vtype == VT.BOOL:
            return {"true": True, "false": False}[token]
        if vtype in (VT.FLOAT32, VT.FLOAT64):
            value = float(token)
            return float(np.float32(value)) if vtype == VT.FLOAT32 else value
        return int(token)

    def array(self, elem):
        assert self.text[self.pos] == "["
        self.pos += 1
        items = []
        while self.text[self.pos] != "]":
            if items:
                assert self.text.startswith(", ", self.pos), self.text[self.pos:]
                self.pos += 2
            items.append(self.scalar(elem))
        self.pos += 1
        return items


KV_LINE = re.compile(r"^kv\[(\d+)\] (.*): (?:arr\[(\w+),(\d+)\]|(\w+)) = (.*)$")
TENSOR_LINE = re.compile(r"^tensor\[(\d+)\] (.*): (\w+) \[([\d, ]*)\] "
                         r"offset=(\d+) bytes=(\d+) crc32=0x([0-9a-f]{8})$")


def dump(tool, path):
    result = subprocess.run([tool, "--array-items=0", "--crc", path],
                            capture_output=True)
    if result.returncode != 0:
        sys.exit(f"{tool} {path} failed: {result.stderr.decode()}")
    return result.stdout.decode("utf-8")


def parse_dump(text):
    header, kvs, tensors = {}, {}, {}
    for line in text.splitlines():
        if m := KV_LINE.match(line):
            key = m.group(2)
            if m.group(3):
                elem = TYPE_NAMES[m.group(3)]
                items = ValueParser(m.group(6)).array(elem)
                check(len(items) == int(m.group(4)),
                      f"dump: {key} count {m.group(4)} but {len(items)} items")
                kvs[key] = (VT.ARRAY, elem, items)
            else:
                vtype = TYPE_NAMES[m.group(5)]
                kvs[key] = (vtype, None, ValueParser(m.group(6)).scalar(vtype))
        elif m := TENSOR_LINE.match(line):
            dims = [int(d) for d in m.group(4).split(", ")]
            tensors[m.group(2)] = (m.group(3), dims, int(m.group(5)),
                                   int(m.group(6)), int(m.group(7), 16))
        elif ": " in line:
            name, value = line.split(": ", 1)
            header[name] = value
        else:
            check(False, f"dump: unexpected line {line!r}")
    return header, kvs, tensors


def compare_dump_with_gguf_py(tool, path):
    reader = GGUFReader(path)
    header, kvs, tensors = parse_dump(dump(tool, path))
    check(int(header["alignment"]) == reader.alignment,
          f"{path}: dump alignment {header['alignment']}, gguf-py {reader.alignment}")
    check(int(header["data offset"]) == reader.data_offset,
          f"{path}: dump data offset {header['data offset']}, gguf-py {reader.data_offset}")
    check(int(header["version"]) == int(reader.fields["GGUF.version"].parts[0][0]),
          f"{path}: version differs")
    py_kvs = {k: field_view(f) for k, f in reader.fields.items()
              if not k.startswith("GGUF.")}
    check(list(kvs) == list(py_kvs),
          f"{path}: dump keys {list(kvs)}, gguf-py keys {list(py_kvs)}")
    for key, view in py_kvs.items():
        check(key in kvs and same_view(kvs[key], view),
              f"{path}: key {key}: dump {kvs.get(key)}, gguf-py {view}")
    check(list(tensors) == [t.name for t in reader.tensors],
          f"{path}: dump tensors {list(tensors)}")
    for t in reader.tensors:
        want = (t.tensor_type.name, [int(d) for d in t.shape],
                t.data_offset - reader.data_offset, int(t.n_bytes),
                zlib.crc32(t.data.tobytes()))
        check(tensors.get(t.name) == want,
              f"{path}: tensor {t.name}: dump {tensors.get(t.name)}, gguf-py {want}")


def write_with_gguf_py(path):
    writer = GGUFWriter(path, "phiq-ref")
    writer.add_uint32("ref.u32", 7)
    writer.add_int64("ref.i64", -5)
    writer.add_float32("ref.f32", 0.1)
    writer.add_bool("ref.bool", False)
    writer.add_string("ref.str", "tok\u00e9n")
    writer.add_array("ref.tokens", ["<s>", "</s>", "a b"])
    writer.add_array("ref.scores", [0.0, -1.5, 2.25])
    writer.add_array("ref.types", [1, 3, 1])
    writer.add_tensor("ref.f32", np.arange(12, dtype=np.float32).reshape(3, 4))
    writer.add_tensor("ref.f16", np.linspace(-1, 1, 64, dtype=np.float16))
    # Two rows of two Q8_0 blocks, given as bytes: ggml dims [64, 2].
    q8 = np.frombuffer(pattern(4 * 34, 9), dtype=np.uint8).reshape(2, 68)
    writer.add_tensor("ref.q8_0", q8, raw_dtype=QT.Q8_0)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--dump-tool", required=True)
    parser.add_argument("--sample", required=True)
    parser.add_argument("--alignment", type=int, default=32)
    parser.add_argument("--reference-out", required=True,
                        help="where to write gguf-py's own file")
    args = parser.parse_args()

    check_sample_with_gguf_py(args.sample, args.alignment)
    compare_dump_with_gguf_py(args.dump_tool, args.sample)
    write_with_gguf_py(args.reference_out)
    compare_dump_with_gguf_py(args.dump_tool, args.reference_out)

    if FAILURES:
        for failure in FAILURES:
            print("FAIL:", failure)
        return 1
    print(f"OK: {os.path.basename(args.sample)} ({len(SAMPLE_KVS)} keys, "
          f"{len(SAMPLE_TENSORS)} tensors) and gguf-py's file agree")
    return 0


if __name__ == "__main__":
    sys.exit(main())
