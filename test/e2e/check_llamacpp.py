#!/usr/bin/env python3
"""PhiQ's GGUF files in real llama.cpp, with the numbers phi-run predicts.

usage: check_llamacpp.py [--windows N] [--tolerance R] BIN_DIR MODEL_DIR WORK_DIR TYPE...

For each llama.cpp file type: phi-quantize writes the GGUF file; the same
quantization is applied to the IR (phiq-quantize-weights, plus
phiq-emulate-llamacpp for PhiMoE, whose routing and norms llama.cpp runs
differently) and phi-run scores it with --llamacpp-arithmetic; llama.cpp
(llama-cpp-python) loads the GGUF file and scores the same 32 x 256 held-out
tokens (the first N windows, default all 32). Their perplexities must agree
within 1e-3 relative. Prints one row per type and exits non-zero on any
failure.
"""
import json
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))


def run(cmd, **kwargs):
    result = subprocess.run(cmd, capture_output=True, text=True, **kwargs)
    if result.returncode != 0:
        sys.exit("command failed: " + " ".join(cmd) + "\n" + result.stderr)
    return result.stdout


def main():
    args = sys.argv[1:]
    windows, tolerance = 32, 1e-3
    while args[0].startswith("--"):
        if args[0] == "--windows":
            windows = int(args[1])
        elif args[0] == "--tolerance":
            tolerance = float(args[1])
        else:
            sys.exit("unknown option " + args[0])
        args = args[2:]
    bin_dir, model, work = args[:3]
    types = args[3:]
    os.makedirs(work, exist_ok=True)
    all_tokens = open(os.path.join(model, "reference", "eval_tokens.i32"), "rb").read()
    tokens = os.path.join(work, "eval_tokens.i32")
    with open(tokens, "wb") as f:
        f.write(all_tokens[:windows * 256 * 4])
    config = json.load(open(os.path.join(model, "config.json")))
    moe = config["architectures"][0] != "Phi3ForCausalLM"
    os.makedirs(work, exist_ok=True)
    failures = 0
    print(f"{'type':8} {'llama.cpp ppl':>14} {'phi-run ppl':>12} {'rel diff':>9}")
    for t in types:
        gguf = os.path.join(work, f"{t}.gguf")
        run([os.path.join(bin_dir, "phi-quantize"), model, "--type", t,
             "-o", gguf, "--quiet"])
        imported = run([os.path.join(bin_dir, "phi-translate"), "--import-hf", model])
        pipeline = f"--phiq-quantize-weights=type={t} output={work}/{t}.blocks.safetensors"
        opt = [os.path.join(bin_dir, "phi-opt"), pipeline]
        if moe:
            opt.append("--phiq-emulate-llamacpp")
        module = os.path.join(work, f"{t}.mlir")
        opt += ["-o", module]
        run(opt, input=imported)
        ours = json.loads(run([os.path.join(bin_dir, "phi-run"), "eval", module,
                               "--tokens", tokens, "--llamacpp-arithmetic", "--json"]))
        theirs = json.loads(run([sys.executable, os.path.join(HERE, "llama_cpp_eval.py"),
                                 gguf, tokens, "256"]))
        rel = abs(ours["perplexity"] - theirs["perplexity"]) / theirs["perplexity"]
        ok = rel <= tolerance
        failures += not ok
        print(f"{t:8} {theirs['perplexity']:14.6f} {ours['perplexity']:12.6f} "
              f"{rel:9.2e} {'ok' if ok else 'MISMATCH'}")
    print(f"{len(types) - failures} passed, {failures} failed")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
