#!/usr/bin/env python3
"""GGUF files in real llama.cpp, with the numbers phi-run predicts.

usage: check_llamacpp.py [--windows N] [--tolerance R] [--llamacpp-quantizer]
                         BIN_DIR MODEL_DIR WORK_DIR TYPE...

For each llama.cpp file type, a GGUF file and the IR of the same quantized
model are made one of two ways:

- by default, phi-quantize writes the GGUF file and the same quantization is
  applied to the imported checkpoint (phiq-quantize-weights);
- with --llamacpp-quantizer, llama.cpp's own quantizer (llama_model_quantize,
  as bench/quantize_bench.sh calls it) turns an F16 GGUF of phi-quantize's
  into the type, and PhiQ imports that file (--import-gguf).

For PhiMoE, phiq-emulate-llamacpp then makes the IR route and normalise as
llama.cpp does. phi-run scores the IR with --llamacpp-arithmetic, llama.cpp
(llama-cpp-python) scores the GGUF file, both on the first N windows (default
all 32) of the held-out 32 x 256 tokens. Their perplexities must agree within
R relative (default 1e-3). Prints one row per type (with the tensor types of
llama.cpp's own files) and exits non-zero on any failure.
"""
import ctypes
import json
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
LLAMA_FTYPES = {"Q4_0": 2, "Q4_1": 3, "Q8_0": 7, "Q5_0": 8, "Q5_1": 9,
                "Q2_K": 10, "Q3_K_S": 11, "Q3_K_M": 12, "Q3_K_L": 13,
                "Q4_K_S": 14, "Q4_K_M": 15, "Q5_K_S": 16, "Q5_K_M": 17,
                "Q6_K": 18, "IQ4_NL": 25}


def run(cmd, **kwargs):
    result = subprocess.run(cmd, capture_output=True, text=True, **kwargs)
    if result.returncode != 0:
        sys.exit("command failed: " + " ".join(cmd) + "\n" + result.stderr)
    return result.stdout


class Tools:
    def __init__(self, bin_dir, model, work, moe):
        self.bin_dir, self.model, self.work, self.moe = bin_dir, model, work, moe

    def tool(self, name):
        return os.path.join(self.bin_dir, name)

    def write_ir(self, ftype, module_text, passes):
        """Writes the module after `passes` (plus llama.cpp's MoE emulation)."""
        opt = [self.tool("phi-opt")] + passes
        if self.moe:
            opt.append("--phiq-emulate-llamacpp")
        path = os.path.join(self.work, f"{ftype}.mlir")
        run(opt + ["-o", path], input=module_text)
        return path

    def ours(self, ftype):
        gguf = os.path.join(self.work, f"{ftype}.gguf")
        run([self.tool("phi-quantize"), self.model, "--type", ftype, "-o", gguf,
             "--quiet"])
        imported = run([self.tool("phi-translate"), "--import-hf", self.model])
        blocks = os.path.join(self.work, f"{ftype}.blocks.safetensors")
        module = self.write_ir(
            ftype, imported,
            [f"--phiq-quantize-weights=type={ftype} output={blocks}"])
        return gguf, module, ""

    def llamacpps(self, ftype):
        import llama_cpp
        from gguf import GGUFReader
        f16 = os.path.join(self.work, "F16.gguf")
        if not os.path.exists(f16):
            run([self.tool("phi-quantize"), self.model, "--type", "F16", "-o",
                 f16, "--quiet"])
        gguf = os.path.join(self.work, f"llama-{ftype}.gguf")
        params = llama_cpp.llama_model_quantize_default_params()
        params.ftype = LLAMA_FTYPES[ftype]
        params.nthread = 2
        if llama_cpp.llama_model_quantize(f16.encode(), gguf.encode(),
                                          ctypes.byref(params)) != 0:
            sys.exit(f"llama_model_quantize {ftype} failed")
        kinds = sorted({t.tensor_type.name for t in GGUFReader(gguf).tensors})
        imported = run([self.tool("phi-translate"), "--import-gguf", gguf])
        module = self.write_ir(ftype, imported, [])
        return gguf, module, " tensors " + " ".join(kinds)


def main():
    args = sys.argv[1:]
    windows, tolerance, llamacpp_quantizer = 32, 1e-3, False
    while args[0].startswith("--"):
        if args[0] == "--llamacpp-quantizer":
            llamacpp_quantizer = True
            args = args[1:]
            continue
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
    tools = Tools(bin_dir, model, work,
                  moe=config["architectures"][0] != "Phi3ForCausalLM")
    make = tools.llamacpps if llamacpp_quantizer else tools.ours
    failures = 0
    print(f"{'type':8} {'llama.cpp ppl':>14} {'phi-run ppl':>12} {'rel diff':>9}")
    for t in types:
        gguf, module, extra = make(t)
        ours = json.loads(run([tools.tool("phi-run"), "eval", module,
                               "--tokens", tokens, "--llamacpp-arithmetic", "--json"]))
        theirs = json.loads(run([sys.executable, os.path.join(HERE, "llama_cpp_eval.py"),
                                 gguf, tokens, "256"]))
        rel = abs(ours["perplexity"] - theirs["perplexity"]) / theirs["perplexity"]
        ok = rel <= tolerance
        failures += not ok
        print(f"{t:8} {theirs['perplexity']:14.6f} {ours['perplexity']:12.6f} "
              f"{rel:9.2e} {'ok' if ok else 'MISMATCH'}{extra}")
    print(f"{len(types) - failures} passed, {failures} failed")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
