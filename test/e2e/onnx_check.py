#!/usr/bin/env python3
"""PhiQ's ONNX folders in real ONNX Runtime, against phi-run.

usage:
  onnx_check.py ppl DIR TOKENS.i32 PHI_RUN_JSON TOLERANCE [--prefill P | --no-decode]
                   [--stepped-reference PHI_RUN_JSON]
  onnx_check.py generate DIR PHI_RUN_JSON [--recompute-past N]
  onnx_check.py genai DIR PHI_RUN_JSON

ppl: onnxruntime scores every window of the int32 token file (position t
predicts t+1, no BOS, as phi-run eval) twice: as one full-sequence pass,
and as a prefill of P tokens followed by one token at a time through the
KV cache (present.N fed back as past_key_values.N). Both perplexities must
agree with phi-run eval's (its --json output) within TOLERANCE relative.
With --stepped-reference JSON the decoded perplexity is compared with that
phi-run eval output instead (phi-run eval --prefill P --chunk B, B = all
windows): a model whose activations are quantized per tensor at run time
depends on which tokens share a pass, so phi-run must make the same passes.
(A window longer than longrope's original context is scored with the long
factors at every position in one pass, but not when decoded step by step,
so such windows are checked with --no-decode.)

generate: greedy decoding in onnxruntime with the KV cache, from phi-run
generate's prompt ids, must reproduce phi-run's new tokens (and stop where
it stopped). --recompute-past N applies phi-run's (and transformers')
longrope rule when the cache crosses the original context N: the step that
first passes N recomputes the whole sequence (the graph then rotates
everything with the long factors) instead of extending a cache rotated with
the short ones.

genai: onnxruntime-genai loads the folder; og.Tokenizer must encode
phi-run's prompt text into phi-run's prompt ids, and a greedy og.Generator
must produce phi-run's new tokens.

Prints one line per check and exits non-zero on any mismatch.
"""
import json
import math
import sys

import numpy as np


def session(folder, threads=2):
    import onnxruntime as ort
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    # ORT fuses a weight's DequantizeLinear + MatMul (QDQ exports) into
    # MatMulNBits with accuracy_level 4 (int8 activations) unless told
    # otherwise; 0 keeps fp32 activations, as every other export here.
    options.add_session_config_entry("session.qdq_matmulnbits_accuracy_level", "0")
    return ort.InferenceSession(f"{folder}/model.onnx", options,
                                providers=["CPUExecutionProvider"])


class Decoder:
    """Drives the exported graph the way ONNX Runtime GenAI does."""

    def __init__(self, folder, threads=2):
        self.sess = session(folder, threads)
        config = json.load(open(f"{folder}/genai_config.json"))["model"]["decoder"]
        self.layers = config["num_hidden_layers"]
        self.kv_heads = config["num_key_value_heads"]
        self.head_size = config["head_size"]
        past = next(i for i in self.sess.get_inputs() if i.name.startswith("past_key_values"))
        self.kv_dtype = np.float16 if "float16" in past.type else np.float32

    def empty_cache(self, batch):
        shape = (batch, self.kv_heads, 0, self.head_size)
        return [np.zeros(shape, self.kv_dtype) for _ in range(2 * self.layers)]

    def run(self, ids, cache):
        """ids [B, T] after cache [.., P, ..]: returns logits [B, T, V], new cache."""
        batch, new = ids.shape
        past = cache[0].shape[2]
        feeds = {"input_ids": ids.astype(np.int64),
                 "attention_mask": np.ones((batch, past + new), np.int64),
                 "position_ids": np.tile(np.arange(past, past + new, dtype=np.int64), (batch, 1))}
        for layer in range(self.layers):
            feeds[f"past_key_values.{layer}.key"] = cache[2 * layer]
            feeds[f"past_key_values.{layer}.value"] = cache[2 * layer + 1]
        names = ["logits"] + [f"present.{l}.{kv}" for l in range(self.layers)
                              for kv in ("key", "value")]
        outputs = self.sess.run(names, feeds)
        return outputs[0].astype(np.float64), outputs[1:]


def nll_sum(logits, targets):
    m = logits.max(axis=-1, keepdims=True)
    lse = m[..., 0] + np.log(np.exp(logits - m).sum(axis=-1))
    picked = np.take_along_axis(logits, targets[..., None], axis=-1)[..., 0]
    return float((lse - picked).sum())


def check(name, ours, reference, tolerance):
    rel = abs(ours - reference) / abs(reference)
    ok = rel <= tolerance
    print(f"{name}: onnxruntime {ours:.6f} phi-run {reference:.6f} rel {rel:.2e} "
          f"{'ok' if ok else 'MISMATCH'}")
    return ok


def ppl(args):
    folder, tokens_path, reference_path, tolerance = args[:4]
    tolerance = float(tolerance)
    prefill = int(args[args.index("--prefill") + 1]) if "--prefill" in args else 64
    reference = json.load(open(reference_path))
    seq_len = reference["seq_len"]
    tokens = np.fromfile(tokens_path, dtype="<i4").reshape(-1, seq_len).astype(np.int64)
    decoder = Decoder(folder)
    count = tokens.shape[0] * (seq_len - 1)

    # One full-sequence pass (in chunks of windows to bound memory).
    total = 0.0
    for start in range(0, tokens.shape[0], 8):
        window = tokens[start:start + 8]
        logits, _ = decoder.run(window, decoder.empty_cache(window.shape[0]))
        total += nll_sum(logits[:, :-1], window[:, 1:])
    full = math.exp(total / count)
    ok = check("full-sequence perplexity", full, reference["perplexity"], tolerance)
    if "--no-decode" in args:
        return ok

    # Prefill, then one token at a time through the KV cache, all windows
    # as one batch.
    cache = decoder.empty_cache(tokens.shape[0])
    logits, cache = decoder.run(tokens[:, :prefill], cache)
    total = nll_sum(logits[:, :-1], tokens[:, 1:prefill])
    last = logits[:, -1]
    for t in range(prefill, seq_len):
        total += nll_sum(last[:, None], tokens[:, t:t + 1])
        if t + 1 < seq_len:
            step, cache = decoder.run(tokens[:, t:t + 1], cache)
            last = step[:, -1]
    stepped = math.exp(total / count)

    if "--stepped-reference" in args:
        # phi-run eval --prefill P --chunk <all windows>: the same passes.
        reference = json.load(open(args[args.index("--stepped-reference") + 1]))
    ok &= check(f"prefill {prefill} + decode perplexity", stepped,
                reference["perplexity"], tolerance)
    return ok


def greedy(decoder, prompt, max_new, eos, recompute=None):
    cache = decoder.empty_cache(1)
    logits, cache = decoder.run(np.array([prompt]), cache)
    out = []
    while len(out) < max_new:
        token = int(logits[0, -1].argmax())
        if token in eos:
            return out, token
        out.append(token)
        past = cache[0].shape[2]
        if recompute is not None and past <= recompute < past + 1:
            logits, cache = decoder.run(np.array([prompt + out]), decoder.empty_cache(1))
            print(f"recomputed the cache at {past + 1} tokens")
        else:
            logits, cache = decoder.run(np.array([[token]]), cache)
    return out, None


def generate(args):
    folder, reference_path = args[:2]
    reference = json.load(open(reference_path))
    eos = set(json.load(open(f"{folder}/genai_config.json"))["model"]["eos_token_id"])
    expected, expected_stop = reference["new_ids"], reference.get("stopped_by")
    # One more step than phi-run took when it stopped at an end token.
    limit = len(expected) + (1 if expected_stop is not None else 0)
    recompute = (int(args[args.index("--recompute-past") + 1])
                 if "--recompute-past" in args else None)
    ids, stop = greedy(Decoder(folder), reference["prompt_ids"], limit, eos, recompute)
    ok = ids == expected and stop == expected_stop
    print(f"onnxruntime greedy: {len(ids)} tokens, stopped by {stop}; "
          f"{'equal to phi-run' if ok else 'MISMATCH ' + str(ids) + ' vs ' + str(expected)}")
    return ok


def genai(args):
    import onnxruntime_genai as og
    folder, reference_path = args[:2]
    reference = json.load(open(reference_path))
    model = og.Model(folder)
    tokenizer = og.Tokenizer(model)
    text = reference.get("prompt_text")
    ok = True
    if text is not None:
        encoded = [int(i) for i in tokenizer.encode(text)]
        same = encoded == reference["prompt_ids"]
        ok &= same
        print(f"og.Tokenizer: {len(encoded)} prompt ids, "
              f"{'equal to phi-run' if same else 'MISMATCH ' + str(encoded)}")
    prompt = reference["prompt_ids"]
    max_new = len(reference["new_ids"]) + (reference.get("stopped_by") is not None)
    params = og.GeneratorParams(model)
    params.set_search_options(do_sample=False, max_length=len(prompt) + max_new)
    generator = og.Generator(model, params)
    generator.append_tokens(np.array([prompt], dtype=np.int32))
    # The sequence leaves out the end token that stopped generation;
    # get_next_tokens() still names it.
    new = []
    while not generator.is_done():
        generator.generate_next_token()
        new.append(int(generator.get_next_tokens()[0]))
    stop = None
    eos = json.load(open(f"{folder}/genai_config.json"))["model"]["eos_token_id"]
    if new and new[-1] in eos:
        stop = new.pop()
    if reference.get("stopped_by") is None:
        new = new[:len(reference["new_ids"])]
    same = new == reference["new_ids"] and stop == reference.get("stopped_by")
    ok &= same
    print(f"og.Generator greedy: {len(new)} tokens, stopped by {stop}; "
          f"{'equal to phi-run' if same else 'MISMATCH ' + str(new) + ' vs ' + str(reference['new_ids'])}")
    return ok


def main():
    command, args = sys.argv[1], sys.argv[2:]
    ok = {"ppl": ppl, "generate": generate, "genai": genai}[command](args)
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
