"""Rebuilds model.onnx.data of the torch.onnx.export of phi35-tiny.

The data file (27.7 MB) is over the repository's file size limit, and every
external initializer in it is a checkpoint tensor, either as stored or
transposed (recipe.json, found by comparing values where the export was
made). So the test rebuilds it from model.safetensors, upcasting bf16 to
fp32 exactly as torch did, at the offsets model.onnx records.

usage: build_data.py MODEL_ONNX CHECKPOINT_SAFETENSORS RECIPE_JSON [--compact]
--compact rewrites model.onnx's offsets to be contiguous first (done once,
before the file was committed).
"""
import json
import struct
import sys

import numpy as np
import onnx


def read_checkpoint(path):
    with open(path, "rb") as f:
        (n,) = struct.unpack("<Q", f.read(8))
        header = json.loads(f.read(n))
        base = 8 + n
        blob = f.read()
    tensors = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        begin, end = info["data_offsets"]
        raw = np.frombuffer(blob, dtype=np.uint8, count=end - begin, offset=begin)
        if info["dtype"] == "BF16":
            arr = (raw.view(np.uint16).astype(np.uint32) << 16).view(np.float32)
        elif info["dtype"] == "F32":
            arr = raw.view(np.float32)
        else:
            raise SystemExit(f"{path}: unexpected dtype {info['dtype']} for {name}")
        tensors[name] = arr.reshape(info["shape"])
    return tensors


def main():
    onnx_path, checkpoint, recipe_path = sys.argv[1:4]
    compact = "--compact" in sys.argv[4:]
    model = onnx.load(onnx_path, load_external_data=False)
    recipe = {r["initializer"]: r for r in json.load(open(recipe_path))}
    weights = read_checkpoint(checkpoint)
    location = None
    chunks = []
    offset = 0
    for init in model.graph.initializer:
        entries = {e.key: e for e in init.external_data}
        if "location" not in entries:
            continue
        location = entries["location"].value
        r = recipe[init.name]
        w = weights[r["source"]]
        w = np.ascontiguousarray(w.T if r["transposed"] else w, dtype=np.float32)
        assert list(w.shape) == list(init.dims), init.name
        if compact:
            entries["offset"].value = str(offset)
            entries["length"].value = str(w.nbytes)
        chunks.append((int(entries["offset"].value), w.tobytes()))
        offset += w.nbytes
    if compact:
        onnx.save(model, onnx_path)
    data_path = onnx_path.rsplit("/", 1)[0] + "/" + location if "/" in onnx_path else location
    size = max(o + len(b) for o, b in chunks)
    out = bytearray(size)
    for o, b in chunks:
        out[o:o + len(b)] = b
    with open(data_path, "wb") as f:
        f.write(out)


if __name__ == "__main__":
    main()
