#!/usr/bin/env python3
"""Which per-tensor error predicts the end-to-end KL divergence?

usage: sensitivity_evidence.py BIN_DIR MODEL_DIR WORK_DIR [--format Q2_K]
                               [--windows 8]

For every linear weight and the lm_head, the model is quantized with only
that tensor in FORMAT (everything else F32, --phiq-quantize-weights
tensor-type=) and evaluated with phi-run on the first WINDOWS windows of
reference/eval_tokens.i32: the KL divergence against fp32 over positions
128..254 is what quantizing that tensor alone costs. Three proxies per
tensor come from report= folders of one FORMAT-everywhere run each:
  hessian   trace((W - Q) H (W - Q)^T) / tokens (calibration=, hessian=true)
  diagonal  sum_c E[x_c^2] |W_c - Q_c|^2 (imatrix= only)
  relative  hessian / trace(W H W^T)
Prints each tensor's numbers and the Spearman rank and Pearson (log-log)
correlations of each proxy with the measured KLD.
"""
import argparse
import json
import os
import subprocess
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from quality_table import log_softmax  # noqa: E402


def run(*args):
    subprocess.run([str(a) for a in args], check=True, capture_output=True)


def ranks(x):
    order = np.argsort(x, kind="stable")
    r = np.empty(len(x))
    r[order] = np.arange(len(x))
    return r


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("bin_dir")
    ap.add_argument("model")
    ap.add_argument("work")
    ap.add_argument("--format", default="Q2_K")
    ap.add_argument("--windows", type=int, default=8)
    ap.add_argument("--stats", help="a --phiq-calibrate store with Hessians")
    a = ap.parse_args()
    os.makedirs(a.work, exist_ok=True)
    b = lambda tool: os.path.join(a.bin_dir, tool)  # noqa: E731
    f32 = os.path.join(a.work, "f32.mlir")
    run(b("phi-translate"), "--import-hf", a.model, "-o", f32)
    stats = a.stats
    if not stats:
        stats = os.path.join(a.work, "stats.safetensors")
        calib = os.path.join(a.model, "reference", "calib_tokens.i32")
        run(b("phi-opt"), f32, f"--phiq-calibrate=tokens={calib} seq-len=512 "
            f"hessian=true output={stats}", "-o", os.devnull)

    tokens = np.fromfile(os.path.join(a.model, "reference", "eval_tokens.i32"),
                         dtype="<i4").reshape(-1, 256)[: a.windows]
    tokens_path = os.path.join(a.work, "eval.i32")
    tokens.tofile(tokens_path)

    def logits(module):
        out = os.path.join(a.work, "logits.f32")
        run(b("phi-run"), "eval", module, "--tokens", tokens_path,
            "--logits-out", out, "--all-windows")
        return np.fromfile(out, dtype=np.float32).reshape(a.windows, 256, -1)

    ref_lp = log_softmax(logits(f32)[:, 128:255].astype(np.float64))

    def report(tag, options):
        folder = os.path.join(a.work, tag)
        file_type = {"Q3_K": "Q3_K_S", "Q4_K": "Q4_K_S", "Q5_K": "Q5_K_S"}
        run(b("phi-opt"), f32, f"--phiq-quantize-weights="
            f"type={file_type.get(a.format, a.format)} pure=true "
            f"{options} report={folder}", "-o", os.devnull)
        with open(os.path.join(folder, "report.json")) as f:
            return {t["tensor"]: t for t in json.load(f)["tensors"]}

    hessian = report("hessian", f"calibration={stats}")
    diagonal = report("diagonal", f"imatrix={stats}")
    names = [n for n, t in hessian.items() if t["weighted_error"] is not None]

    rows = []
    for name in names:
        module = os.path.join(a.work, "one.mlir")
        pattern = "^" + name.replace(".", "[.]") + "$"
        run(b("phi-opt"), f32, f"--phiq-quantize-weights=type=F32 "
            f"tensor-type={pattern}={a.format} output={os.path.join(a.work, 'one.safetensors')}",
            "-o", module)
        lp = log_softmax(logits(module)[:, 128:255].astype(np.float64))
        kld = float((np.exp(ref_lp) * (ref_lp - lp)).sum(-1).mean())
        rows.append((name, kld, hessian[name]["weighted_error"],
                     diagonal[name]["weighted_error"],
                     hessian[name]["relative_error"]))
        print(f"{name} KLD {kld:.6f} hessian {rows[-1][2]:.4g} diagonal "
              f"{rows[-1][3]:.4g} relative {rows[-1][4]:.4g}", flush=True)

    kld = np.array([r[1] for r in rows])
    print(f"\n{len(rows)} tensors, each alone in {a.format}, {a.windows} eval windows")
    print("| proxy | Spearman rank correlation with KLD | Pearson of logs |")
    print("|---|---:|---:|")
    for i, label in ((2, "hessian"), (3, "diagonal"), (4, "relative")):
        p = np.array([r[i] for r in rows])
        spearman = np.corrcoef(ranks(p), ranks(kld))[0, 1]
        pearson = np.corrcoef(np.log(p), np.log(kld))[0, 1]
        print(f"| {label} | {spearman:.3f} | {pearson:.3f} |")


if __name__ == "__main__":
    main()
