"""Checks phi-quantize --report against the GGUF file it wrote.

usage: check_report.py REPORT_DIR FILE.gguf TARGET_BPW

Every tensor of the report has the format the file stores it in; the
report's tensor bytes are the file's tensor data (what target-bpw budgets)
and fit TARGET_BPW; the SVG parses as XML. Prints a summary for FileCheck.
"""
import csv
import json
import os
import sys
import xml.etree.ElementTree as ET

from gguf import GGUFReader

NAMES = {"qkv_proj": "attn_qkv", "o_proj": "attn_output",
         "gate_up_proj": "ffn_up", "down_proj": "ffn_down"}


def gguf_name(key):
    if key == "model.embed_tokens.weight":
        return "token_embd.weight"
    if key == "lm_head.weight":
        return "output.weight"
    parts = key.split(".")
    return f"blk.{parts[2]}.{NAMES[parts[4]]}.weight"


def main():
    folder, path, target = sys.argv[1], sys.argv[2], float(sys.argv[3])
    reader = GGUFReader(path)
    stored = {t.name: (t.tensor_type.name, int(t.n_bytes)) for t in reader.tensors}
    with open(os.path.join(folder, "report.csv")) as f:
        rows = list(csv.DictReader(f))
    agree = all(stored[gguf_name(r["tensor"])] == (r["format"], int(r["bytes"]))
                for r in rows)
    with open(os.path.join(folder, "report.json")) as f:
        report = json.load(f)
    # rope_factors_* come from the config, not from the model's weights.
    data = sum(b for n, (_, b) in stored.items()
               if not n.startswith("rope_factors"))
    bpw = 8 * report["tensor_bytes"] / report["parameters"]
    ET.parse(os.path.join(folder, "error-by-layer.svg"))
    print(f"{len(rows)} tensors, formats and bytes as in the file: {agree}")
    print(f"tensor data as in the file: {data == report['tensor_bytes']}")
    print(f"within {target} bpw: {bpw <= target}")
    kinds = sorted({r["format"] for r in rows})
    print("formats: " + " ".join(kinds))
    print("svg parses")


if __name__ == "__main__":
    main()
