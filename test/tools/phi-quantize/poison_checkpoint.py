"""Copies a Hugging Face checkpoint folder and writes +inf into the first
element of one tensor of its model.safetensors (bf16, f16 or f32), for
tests of what happens when a writer meets a bad value half-way through.

usage: poison_checkpoint.py SRC_DIR DST_DIR TENSOR_NAME
"""
import json
import shutil
import struct
import sys

src, dst, name = sys.argv[1:4]
shutil.copytree(src, dst, ignore=shutil.ignore_patterns("reference"))
path = f"{dst}/model.safetensors"
with open(path, "r+b") as f:
    (header_len,) = struct.unpack("<Q", f.read(8))
    header = json.loads(f.read(header_len))
    info = header[name]
    inf = {"BF16": b"\x80\x7f", "F16": b"\x00\x7c", "F32": b"\x00\x00\x80\x7f"}
    f.seek(8 + header_len + info["data_offsets"][0])
    f.write(inf[info["dtype"]])
