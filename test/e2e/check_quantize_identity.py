#!/usr/bin/env python3
"""PhiQ's round-to-nearest blocks are llama.cpp's, byte for byte.

usage: check_quantize_identity.py BIN_DIR MODEL_DIR WORK_DIR TYPE...

phi-quantize writes the model as a BF16 GGUF file (exact: the checkpoints
are bf16). llama.cpp's own quantizer, llama_model_quantize from
llama-cpp-python, turns that file into each TYPE with --pure (one format
for every matrix); phi-quantize --pure writes the same TYPE from the
checkpoint. Every tensor must have the same type, shape and bytes in both
files, and the gguf package's reference quantizer (gguf.quants) must give
those bytes too where it implements the type. Prints a row per type and
exits non-zero on any difference.
"""
import ctypes
import os
import subprocess
import sys

import numpy as np
from gguf import GGUFReader, GGMLQuantizationType, quants

FILE_TYPES = {"Q4_0": 2, "Q4_1": 3, "Q8_0": 7, "Q5_0": 8, "Q5_1": 9}


def run(cmd):
    result = subprocess.run(cmd, capture_output=True, text=True)
    if result.returncode != 0:
        sys.exit("command failed: " + " ".join(cmd) + "\n" + result.stderr)


def llama_quantize(source, destination, file_type):
    import llama_cpp
    params = llama_cpp.llama_model_quantize_default_params()
    params.ftype = FILE_TYPES[file_type]
    params.nthread = 2
    params.pure = True
    rc = llama_cpp.llama_model_quantize(source.encode(), destination.encode(),
                                        ctypes.byref(params))
    if rc != 0:
        sys.exit(f"llama_model_quantize failed for {file_type} ({rc})")


def tensors(path):
    return {t.name: t for t in GGUFReader(path).tensors}


def main():
    bin_dir, model, work = sys.argv[1:4]
    os.makedirs(work, exist_ok=True)
    bf16 = os.path.join(work, "bf16.gguf")
    run([os.path.join(bin_dir, "phi-quantize"), model, "--type", "BF16",
         "-o", bf16, "--quiet"])
    source = tensors(bf16)
    failures = 0
    for file_type in sys.argv[4:]:
        theirs_path = os.path.join(work, f"llama-{file_type}.gguf")
        ours_path = os.path.join(work, f"phiq-{file_type}.gguf")
        llama_quantize(bf16, theirs_path, file_type)
        run([os.path.join(bin_dir, "phi-quantize"), model, "--type", file_type,
             "--pure", "-o", ours_path, "--quiet"])
        theirs, ours = tensors(theirs_path), tensors(ours_path)
        problems = []
        if set(theirs) != set(ours):
            problems.append(f"tensor names differ: {sorted(set(theirs) ^ set(ours))}")
        compared = quantized = reference = 0
        for name in sorted(set(theirs) & set(ours)):
            a, b = theirs[name], ours[name]
            if a.tensor_type != b.tensor_type or list(a.shape) != list(b.shape):
                problems.append(f"{name}: {a.tensor_type.name}{list(a.shape)} vs "
                                f"{b.tensor_type.name}{list(b.shape)}")
                continue
            compared += 1
            if a.data.tobytes() != b.data.tobytes():
                problems.append(f"{name}: bytes differ")
            if b.tensor_type == GGMLQuantizationType[file_type]:
                quantized += 1
                # gguf-py's numpy reference quantizer from the same floats.
                src = source[name]
                floats = quants.dequantize(src.data, src.tensor_type)
                try:
                    expected = quants.quantize(floats, b.tensor_type)
                except NotImplementedError:
                    continue
                reference += 1
                if expected.tobytes() != b.data.tobytes():
                    problems.append(f"{name}: differs from gguf.quants")
        status = "identical" if not problems else "DIFFERENT"
        print(f"{file_type:6} {compared} tensors ({quantized} {file_type}, "
              f"{reference} also checked against gguf.quants): {status}")
        for p in problems[:10]:
            print("   ", p)
        failures += bool(problems)
    print(f"{len(sys.argv) - 4 - failures} identical, {failures} different")
    sys.exit(1 if failures else 0)


main()
