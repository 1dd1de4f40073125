#!/usr/bin/env python3
"""PhiQ's MLX folders in real mlx-lm (mlx-cpu), against phi-run and mx.quantize.

usage:
  mlx_check.py ppl DIR TOKENS.i32 PHI_RUN_JSON TOLERANCE [--windows N]
  mlx_check.py generate DIR PHI_RUN_JSON
  mlx_check.py bytes DIR CHECKPOINT
  mlx_check.py config DIR
  mlx_check.py longrope IN.mlir OUT.mlir
  mlx_check.py mutate DIR OUT (--drop TENSOR | --bits N)

ppl: mlx_lm.load(DIR) builds the model the way mlx-lm always does (its
phi3 / phimoe classes, nn.quantize from config.json's `quantization`); its
float parameters are then widened to fp32 (exact: bf16/fp16 scales, biases
and norms widen without rounding), because phi-run computes in fp32 and
mlx's bf16 matmuls would differ by ~1e-2 on their own. Log-softmax of the
logits of the first N windows (all by default; position t predicts t+1, no
BOS) gives the perplexity, which must agree with phi-run eval's --json
(computed on the same windows) within TOLERANCE relative.

generate: greedy decoding with mlx_lm's generate_step (KV cache, argmax),
from phi-run generate's prompt ids, must reproduce phi-run's new tokens and
stop at the same end token (mlx-lm's tokenizer's eos ids).

bytes: every quantized module of DIR (packed uint32 weight, scales,
biases) must equal mx.quantize(W, group_size, bits) of the checkpoint's
weight W (per-expert weights stacked as mlx-lm does), byte for byte, and
every float tensor must equal the checkpoint's.

config: prints the folder's quantization entry and its tensors' dtypes.

longrope: writes IN.mlir with every #phi.rope's short factors replaced by
its long factors. mlx-lm's SuScaledRoPE (models/rope_utils.py) rotates with
the long factors at every length, where transformers and phi-run use the
short ones below original_max_position_embeddings; the rewritten module is
what mlx-lm computes, so phi-run's numbers on it are the ones to compare.

Prints one line per check and exits non-zero on any mismatch.
"""
import json
import math
import re
import sys

import numpy as np


def load_fp32(folder):
    import mlx.core as mx
    from mlx_lm import load
    model, tokenizer = load(folder)
    model.set_dtype(mx.float32)
    return model, tokenizer


def log_softmax(logits):
    m = logits.max(axis=-1, keepdims=True)
    z = logits - m
    return z - np.log(np.exp(z).sum(axis=-1, keepdims=True))


def check(label, got, want, tolerance):
    rel = abs(got - want) / abs(want)
    ok = rel <= tolerance
    print(f"{label}: mlx-lm {got:.6f}, phi-run {want:.6f}, relative "
          f"{rel:.1e} {'ok' if ok else 'MISMATCH'}")
    return ok


def ppl(folder, tokens_path, reference_path, tolerance, windows=None):
    import mlx.core as mx
    reference = json.load(open(reference_path))
    seq_len = reference["seq_len"]
    tokens = np.fromfile(tokens_path, dtype=np.int32).reshape(-1, seq_len)
    if windows:
        tokens = tokens[:windows]
    model, _ = load_fp32(folder)
    total, count = 0.0, 0
    for start in range(0, tokens.shape[0], 8):
        batch = tokens[start:start + 8]
        logits = np.array(model(mx.array(batch)).astype(mx.float32), np.float64)
        lp = log_softmax(logits[:, :-1])
        targets = batch[:, 1:]
        total -= np.take_along_axis(lp, targets[..., None], axis=-1).sum()
        count += targets.size
    return check("mlx-lm perplexity", math.exp(total / count),
                 reference["perplexity"], tolerance)


def generate(folder, reference_path):
    import mlx.core as mx
    from mlx_lm.generate import generate_step
    reference = json.load(open(reference_path))
    model, tokenizer = load_fp32(folder)
    eos = set(tokenizer.eos_token_ids)
    expected, expected_stop = reference["new_ids"], reference.get("stopped_by")
    limit = len(expected) + (expected_stop is not None)
    new, stop = [], None
    for token, _ in generate_step(mx.array(reference["prompt_ids"]), model,
                                  max_tokens=limit):
        token = int(token)
        if token in eos:
            stop = token
            break
        new.append(token)
    same = new == expected and stop == expected_stop
    print(f"mlx_lm greedy: {len(new)} tokens, stopped by {stop}; "
          f"{'equal to phi-run' if same else 'DIFFERENT from phi-run'}")
    if not same:
        print(f"  mlx-lm:  {new}\n  phi-run: {expected} (stop {expected_stop})")
    return same


def bytes_check(folder, checkpoint):
    import mlx.core as mx
    config = json.load(open(f"{folder}/config.json"))
    quantization = config.get("quantization", {})
    ours = mx.load(f"{folder}/model.safetensors")
    source = mx.load(f"{checkpoint}/model.safetensors")
    expert = re.compile(r"^(model\.layers\.\d+\.block_sparse_moe)\.switch_mlp\.(\w+)_proj$")
    w_name = {"gate": "w1", "up": "w3", "down": "w2"}

    def source_weight(module):
        m = expert.match(module)
        if not m:
            return source[module + ".weight"]
        experts = []
        e = 0
        while f"{m[1]}.experts.{e}.{w_name[m[2]]}.weight" in source:
            experts.append(source[f"{m[1]}.experts.{e}.{w_name[m[2]]}.weight"])
            e += 1
        return mx.stack(experts)

    modules = sorted(n[:-len(".scales")] for n in ours if n.endswith(".scales"))
    bad = 0
    for module in modules:
        params = quantization.get(module, quantization)
        q, s, b = mx.quantize(source_weight(module), group_size=params["group_size"],
                              bits=params["bits"])
        for suffix, want in (("weight", q), ("scales", s), ("biases", b)):
            got = ours[f"{module}.{suffix}"]
            same = (got.dtype == want.dtype and got.shape == want.shape and
                    np.array_equal(np.array(got.view(mx.uint8) if got.dtype != mx.uint32 else got),
                                   np.array(want.view(mx.uint8) if want.dtype != mx.uint32 else want)))
            if not same:
                print(f"{module}.{suffix}: {got.dtype} {got.shape} differs from "
                      f"mx.quantize's {want.dtype} {want.shape}")
                bad += 1
    floats = [n for n in ours if not re.search(r"\.(scales|biases)$", n)
              and n[:-len(".weight")] not in modules]
    for name in floats:
        got = ours[name]
        if name in source:
            want = source[name]
        else:
            m = expert.match(name[:-len(".weight")])
            want = source_weight(name[:-len(".weight")]) if m else None
        if want is None or got.dtype != want.dtype or not mx.array_equal(got, want):
            print(f"{name}: float tensor differs from the checkpoint's")
            bad += 1
    print(f"{len(modules)} quantized modules equal to mx.quantize byte for byte, "
          f"{len(floats)} float tensors equal to the checkpoint: "
          f"{'ok' if bad == 0 else f'{bad} MISMATCHES'}")
    return bad == 0


def show_config(folder):
    import mlx.core as mx
    config = json.load(open(f"{folder}/config.json"))
    print("quantization:", json.dumps(config.get("quantization"), sort_keys=True))
    tensors = mx.load(f"{folder}/model.safetensors")
    dtypes = sorted({str(t.dtype) for t in tensors.values()})
    print("dtypes:", " ".join(dtypes))
    return True


def longrope(src, dst):
    text = open(src).read()
    pattern = re.compile(r"short_factor = (\[[^\]]*\]), long_factor = (\[[^\]]*\])")
    text, count = pattern.subn(lambda m: f"short_factor = {m[2]}, long_factor = {m[2]}", text)
    open(dst, "w").write(text)
    print(f"longrope: {count} rope attributes now use the long factors")
    return True


def mutate(folder, out, how, arg):
    """A broken copy of an MLX folder: one tensor left out, or config.json's
    default bits changed so that it disagrees with the tensors."""
    import shutil
    import mlx.core as mx
    shutil.copytree(folder, out)
    if how == "--drop":
        tensors = mx.load(f"{out}/model.safetensors")
        del tensors[arg]
        mx.save_safetensors(f"{out}/model.safetensors", tensors, metadata={"format": "mlx"})
        try:
            index = json.load(open(f"{out}/model.safetensors.index.json"))
            del index["weight_map"][arg]
            json.dump(index, open(f"{out}/model.safetensors.index.json", "w"), indent=2)
        except FileNotFoundError:
            pass
    else:
        config = json.load(open(f"{out}/config.json"))
        config["quantization"]["bits"] = int(arg)
        json.dump(config, open(f"{out}/config.json", "w"), indent=2)
    return True


def main(argv):
    if len(argv) < 2:
        print(__doc__)
        return 2
    mode = argv[1]
    if mode == "ppl":
        windows = int(argv[argv.index("--windows") + 1]) if "--windows" in argv else None
        return 0 if ppl(argv[2], argv[3], argv[4], float(argv[5]), windows) else 1
    if mode == "generate":
        return 0 if generate(argv[2], argv[3]) else 1
    if mode == "bytes":
        return 0 if bytes_check(argv[2], argv[3]) else 1
    if mode == "mutate":
        return 0 if mutate(argv[2], argv[3], argv[4], argv[5]) else 1
    if mode == "longrope":
        return 0 if longrope(argv[2], argv[3]) else 1
    if mode == "config":
        return 0 if show_config(argv[2]) else 1
    print(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
