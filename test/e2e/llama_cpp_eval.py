#!/usr/bin/env python3
"""Perplexity of a GGUF file in real llama.cpp (llama-cpp-python).

usage: llama_cpp_eval.py MODEL.gguf TOKENS.i32 SEQ_LEN [--json] [--f32-kv-cache]

Each row of the int32 token file is one window, evaluated from an empty
context; position t's logits predict token t+1 (no BOS added), as phi-run
eval scores them. The context is exactly SEQ_LEN tokens: llama.cpp picks
longrope's short or long factors by context size, so it must not exceed
original_max_position_embeddings for the comparison with phi-run.
--f32-kv-cache keeps keys and values in fp32 instead of llama.cpp's default
fp16 (for comparisons with runtimes that keep an fp32 cache).
"""
import json
import math
import sys

import numpy as np
from llama_cpp import Llama


def main():
    path, tokens_path, seq_len = sys.argv[1], sys.argv[2], int(sys.argv[3])
    tokens = np.fromfile(tokens_path, dtype="<i4").reshape(-1, seq_len)
    cache = {"type_k": 0, "type_v": 0} if "--f32-kv-cache" in sys.argv else {}
    llm = Llama(model_path=path, n_ctx=seq_len, n_batch=seq_len, n_ubatch=seq_len,
                logits_all=True, n_threads=2, verbose=False, seed=0, **cache)
    total, count, correct = 0.0, 0, 0
    for window in tokens:
        llm.reset()
        llm.eval(window.tolist())
        logits = np.asarray(llm.scores[:seq_len], dtype=np.float64)
        shifted = logits[:-1]
        m = shifted.max(axis=1, keepdims=True)
        lse = (m[:, 0] + np.log(np.exp(shifted - m).sum(axis=1)))
        target = window[1:]
        nll = lse - shifted[np.arange(seq_len - 1), target]
        total += float(nll.sum())
        count += seq_len - 1
        correct += int((shifted.argmax(axis=1) == target).sum())
    mean = total / count
    result = {"mean_nll": mean, "perplexity": math.exp(mean),
              "top1_accuracy": correct / count, "predictions": count,
              "n_vocab": llm.n_vocab(), "seq_len": seq_len}
    print(json.dumps(result))


if __name__ == "__main__":
    main()
