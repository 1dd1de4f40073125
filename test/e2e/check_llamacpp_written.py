#!/usr/bin/env python3
"""GGUF files that llama.cpp itself quantized, imported and scored by PhiQ.

usage: check_llamacpp_written.py [--tolerance R] BIN_DIR MODEL_DIR WORK_DIR TYPE...

phi-quantize writes an F16 GGUF of the model; llama.cpp's own quantizer
(llama_model_quantize, as bench/quantize_bench.sh calls it) turns it into
each TYPE. PhiQ imports that file (phi-translate --import-gguf; for PhiMoE
then phiq-emulate-llamacpp, since llama.cpp runs PhiMoE's norms and routing
its own way) and phi-run scores it with --llamacpp-arithmetic; llama.cpp
(llama-cpp-python) scores the same file on the same 32 x 256 held-out
tokens. The perplexities must agree within R relative (default 1e-3, the
bound the e2e tests of PhiQ's own files use). Prints one row per type and
the tensor types llama.cpp chose, and exits non-zero on any failure.
"""
import ctypes
import json
import os
import subprocess
import sys

import llama_cpp
from gguf import GGUFReader

HERE = os.path.dirname(os.path.abspath(__file__))
FTYPES = {"Q4_0": 2, "Q4_1": 3, "Q8_0": 7, "Q5_0": 8, "Q5_1": 9, "Q2_K": 10,
          "Q3_K_S": 11, "Q3_K_M": 12, "Q3_K_L": 13, "Q4_K_S": 14, "Q4_K_M": 15,
          "Q5_K_S": 16, "Q5_K_M": 17, "Q6_K": 18, "IQ4_NL": 25}


def run(cmd, **kwargs):
    result = subprocess.run(cmd, capture_output=True, text=True, **kwargs)
    if result.returncode != 0:
        sys.exit("command failed: " + " ".join(cmd) + "\n" + result.stderr)
    return result.stdout


def llama_quantize(src, dst, ftype):
    params = llama_cpp.llama_model_quantize_default_params()
    params.ftype = FTYPES[ftype]
    params.nthread = 2
    rc = llama_cpp.llama_model_quantize(src.encode(), dst.encode(),
                                        ctypes.byref(params))
    if rc != 0:
        sys.exit(f"llama_model_quantize {ftype} failed with {rc}")


def main():
    args = sys.argv[1:]
    tolerance = 1e-3
    if args[0] == "--tolerance":
        tolerance = float(args[1])
        args = args[2:]
    bin_dir, model, work = args[:3]
    types = args[3:]
    os.makedirs(work, exist_ok=True)
    tokens = os.path.join(model, "reference", "eval_tokens.i32")
    config = json.load(open(os.path.join(model, "config.json")))
    moe = config["architectures"][0] != "Phi3ForCausalLM"
    f16 = os.path.join(work, "F16.gguf")
    run([os.path.join(bin_dir, "phi-quantize"), model, "--type", "F16",
         "-o", f16, "--quiet"])
    failures = 0
    print(f"{'type':8} {'llama.cpp ppl':>14} {'phi-run ppl':>12} {'rel diff':>9}")
    for t in types:
        gguf = os.path.join(work, f"llama-{t}.gguf")
        llama_quantize(f16, gguf, t)
        kinds = sorted({r.tensor_type.name for r in GGUFReader(gguf).tensors})
        module = run([os.path.join(bin_dir, "phi-translate"), "--import-gguf",
                      gguf])
        if moe:
            module = run([os.path.join(bin_dir, "phi-opt"),
                          "--phiq-emulate-llamacpp"], input=module)
        path = os.path.join(work, f"llama-{t}.mlir")
        with open(path, "w") as f:
            f.write(module)
        ours = json.loads(run([os.path.join(bin_dir, "phi-run"), "eval", path,
                               "--tokens", tokens, "--llamacpp-arithmetic",
                               "--json"]))
        theirs = json.loads(run([sys.executable,
                                 os.path.join(HERE, "llama_cpp_eval.py"),
                                 gguf, tokens, "256"]))
        rel = abs(ours["perplexity"] - theirs["perplexity"]) / theirs["perplexity"]
        ok = rel <= tolerance
        failures += not ok
        print(f"{t:8} {theirs['perplexity']:14.6f} {ours['perplexity']:12.6f} "
              f"{rel:9.2e} {'ok' if ok else 'MISMATCH'} tensors {' '.join(kinds)}")
    print(f"{len(types) - failures} passed, {failures} failed")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
