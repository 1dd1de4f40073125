# Reference for longrope's switch from short to long factors in the middle of
# generation, computed with Hugging Face transformers (fp32, eager, TF32
# off). The prompt is the first PROMPT tokens of long window 0, just below
# original_max_position_embeddings; greedy decoding then crosses it.
#
# `greedy_new_ids` recomputes the whole sequence at every step (no cache), so
# every step sees exactly the checkpoint's math: short factors while the
# sequence fits the original context, long factors for every position after.
# `hf_generate_cached_new_ids` is model.generate() with its KV cache, kept to
# document a transformers 5 bug: Phi3's prepare_inputs_for_generation drops
# the cache at the switch to force a recompute, but the generic code still
# feeds only the last token, so the model loses its whole context there.
#
# Also records window 0's last-position logits (every vocab entry).
#
# Run where transformers + torch are: python3 make_crossing_reference.py MODEL_DIR...
# Writes $OUT/<model>.crossing.json.
import json, os, sys

import numpy as np
import torch
import transformers
from transformers import AutoModelForCausalLM

PROMPT, NEW = 500, 24
torch.backends.cuda.matmul.allow_tf32 = False
torch.backends.cudnn.allow_tf32 = False
torch.set_float32_matmul_precision("highest")
dev = "cuda" if torch.cuda.is_available() else "cpu"
for d in sys.argv[1:]:
    name = os.path.basename(os.path.normpath(d))
    long_ref = json.load(open(os.path.join(d, "reference", "long_reference.json")))
    B, T = long_ref["shape"]
    ids = np.fromfile(os.path.join(d, "reference", "long_tokens.i32"), dtype="<i4").reshape(B, T)
    m = AutoModelForCausalLM.from_pretrained(d, dtype=torch.float32, attn_implementation="eager").to(dev).eval()
    prompt = torch.from_numpy(ids[0:1, :PROMPT].astype(np.int64)).to(dev)
    with torch.no_grad():
        out = m.generate(prompt, do_sample=False, max_new_tokens=NEW, eos_token_id=None,
                         pad_token_id=m.config.pad_token_id, use_cache=True)
        seq = prompt
        for _ in range(NEW):
            nxt = m(seq, use_cache=False).logits[0, -1].argmax()
            seq = torch.cat([seq, nxt.view(1, 1)], dim=1)
        w0 = torch.from_numpy(ids[0:1].astype(np.int64)).to(dev)
        last = m(w0).logits[0, -1].float().cpu()
    ref = {"model": name, "prompt_window": 0, "prompt_tokens": PROMPT,
           "original_max_position_embeddings": long_ref["original_max_position_embeddings"],
           "greedy_new_ids": seq[0, PROMPT:].tolist(),
           "hf_generate_cached_new_ids": out[0, PROMPT:].tolist(),
           "long_w0_last_logits": [round(float(x), 6) for x in last],
           "transformers": transformers.__version__, "torch": torch.__version__,
           "method": f"greedy argmax from the first {PROMPT} tokens of long window 0, full recompute "
                     "each step (greedy_new_ids) and model.generate(do_sample=False, use_cache=True, "
                     "eos_token_id=None) (hf_generate_cached_new_ids); logits of the last position of "
                     "long window 0; fp32, eager, TF32 off"}
    json.dump(ref, open(os.path.join(os.environ.get("OUT", "."), f"{name}.crossing.json"), "w"))
    print(name, ref["greedy_new_ids"], ref["hf_generate_cached_new_ids"])
