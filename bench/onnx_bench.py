#!/usr/bin/env python3
"""ONNX Runtime tokens/s of PhiQ's int4 export against its fp32 export.

usage: .venv/bin/python bench/onnx_bench.py BUILD_BIN MODEL_DIR
           [--prompt N] [--new N] [--reps N] [--threads N] [--keep DIR]

In one command, from the same checkpoint:
  1. exports it with phi-translate --phi-to-onnx at fp32, and as int4
     MatMulNBits (--phiq-quantize-onnx bits=4 block-size=32, asymmetric,
     accuracy_level 0 and 4), timing each export (import, quantization
     decision and the writer: wall clock of the phi-opt + phi-translate
     commands);
  2. loads each folder in onnxruntime (CPU provider, --threads intra-op
     threads) and times a prefill of --prompt tokens (batch 1) and --new
     greedy decode steps through the KV cache, --reps times (median shown);
  3. prints prefill and decode tokens/s of each, and the ratio to fp32.
The int4 model is the reference's peer: only the ratios carry across
machines.
"""
import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "test", "e2e"))
from onnx_check import Decoder  # noqa: E402


def run(cmd):
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)


def export(bindir, mlir, out, quantize=None, accuracy=0):
    start = time.perf_counter()
    source = mlir
    if quantize:
        source = out + ".mlir"
        run([f"{bindir}/phi-opt", mlir, f"--phiq-quantize-onnx={quantize}",
             "-o", source])
    run([f"{bindir}/phi-translate", "--phi-to-onnx", source, "--onnx-out", out,
         f"--onnx-accuracy-level={accuracy}", "-o", os.devnull])
    return time.perf_counter() - start


def speed(folder, prompt, new, reps, threads):
    decoder = Decoder(folder, threads)
    rng = np.random.default_rng(0)
    ids = rng.integers(10, 1000, size=(1, prompt))
    prefill, decode = [], []
    for _ in range(reps + 1):  # the first run warms up
        cache = decoder.empty_cache(1)
        t0 = time.perf_counter()
        logits, cache = decoder.run(ids, cache)
        t1 = time.perf_counter()
        token = logits[:, -1].argmax(-1)[:, None]
        for _ in range(new):
            logits, cache = decoder.run(token, cache)
            token = logits[:, -1].argmax(-1)[:, None]
        t2 = time.perf_counter()
        prefill.append(prompt / (t1 - t0))
        decode.append(new / (t2 - t1))
    return statistics.median(prefill[1:]), statistics.median(decode[1:])


def main():
    p = argparse.ArgumentParser()
    p.add_argument("bindir")
    p.add_argument("model")
    p.add_argument("--prompt", type=int, default=128)
    p.add_argument("--new", type=int, default=64)
    p.add_argument("--reps", type=int, default=3)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--keep")
    a = p.parse_args()
    work = a.keep or tempfile.mkdtemp()
    try:
        mlir = os.path.join(work, "model.mlir")
        start = time.perf_counter()
        run([f"{a.bindir}/phi-translate", "--import-hf", a.model, "-o", mlir])
        import_s = time.perf_counter() - start
        rows = []
        for name, quantize, accuracy in [
                ("fp32", None, 0),
                ("int4 g32 asym, accuracy_level 0", "bits=4 block-size=32 symmetric=false", 0),
                ("int4 g32 asym, accuracy_level 4", "bits=4 block-size=32 symmetric=false", 4)]:
            out = os.path.join(work, name.split(",")[0].replace(" ", "-") + f"-a{accuracy}")
            seconds = export(a.bindir, mlir, out, quantize, accuracy)
            size = sum(os.path.getsize(os.path.join(out, f))
                       for f in ("model.onnx", "model.onnx.data"))
            pre, dec = speed(out, a.prompt, a.new, a.reps, a.threads)
            rows.append((name, seconds, size, pre, dec))
        print(f"model {a.model}; import {import_s:.2f} s; prompt {a.prompt}, "
              f"decode {a.new} tokens, batch 1, {a.threads} threads, "
              f"median of {a.reps}")
        print("| export | export s | bytes | prefill tok/s | decode tok/s "
              "| prefill vs fp32 | decode vs fp32 |")
        print("|---|---:|---:|---:|---:|---:|---:|")
        base = rows[0]
        for name, seconds, size, pre, dec in rows:
            print(f"| {name} | {seconds:.2f} | {size:,} | {pre:.0f} | {dec:.1f} "
                  f"| {pre / base[3]:.2f} | {dec / base[4]:.2f} |")
    finally:
        if not a.keep:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
