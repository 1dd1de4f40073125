#!/usr/bin/env python3
"""PhiQ's OpenVINO IR folders in real OpenVINO and openvino-genai, against phi-run.

usage:
  openvino_ir_check.py ppl DIR TOKENS.i32 PHI_RUN_JSON TOLERANCE [--prefill P]
  openvino_ir_check.py genai DIR PHI_RUN_JSON
  openvino_ir_check.py read DIR
  openvino_ir_check.py tokenizer CHECKPOINT DIR
  openvino_ir_check.py nncf OURS FP32 MODE GROUP [--default-mix]
  openvino_ir_check.py nncf-write OUT FP32 MODE GROUP [--default-mix]

ppl: OpenVINO reads DIR/openvino_model.xml (the stateful decoder) and its
CPU plugin scores every window of the int32 token file (position t predicts
t+1, no BOS, as phi-run eval) as one full-sequence pass from an empty
cache; with --prefill P also as a prefill of P tokens followed by one token
at a time through the model's own ReadValue/Assign cache. Each perplexity
must agree with phi-run eval's (--json) within TOLERANCE relative. The
plugin runs in f32 (INFERENCE_PRECISION_HINT), with an f32 KV cache and no
dynamic quantization of activations, so it computes what phi-run computes.

genai: openvino_genai.LLMPipeline(DIR, "CPU") greedy-generates from
phi-run's prompt text; the tokens must equal phi-run generate's and stop
where it stopped (an end token of generation_config.json).

read: only reads and compiles the model; prints OpenVINO's error.

tokenizer: converts CHECKPOINT's Hugging Face tokenizer with
openvino-tokenizers into DIR/openvino_tokenizer.xml and
openvino_detokenizer.xml (what `convert_tokenizer CHECKPOINT
--with-detokenizer -o DIR` does), which LLMPipeline needs.

nncf: runs NNCF's data-free nncf.compress_weights (MODE int4_asym,
int4_sym or int8_asym, group_size GROUP (-1: per channel), ratio 1.0,
all_layers) on OpenVINO's reading of FP32/openvino_model.xml, and compares
every 4/8-bit constant of OURS (codes, zero points, f16 scales) byte for
byte with NNCF's constant of the same name. Every one must be equal, and NNCF must have compressed as many.
With --default-mix NNCF runs with all_layers=False (its default: the
embedding and the lm_head in INT8_ASYM per channel).

nncf-write: writes NNCF's compress_weights output (as for nncf) of FP32
into the IR folder OUT (with FP32's config.json), for --import-openvino.

Prints one line per check and exits non-zero on any mismatch.
"""
import json
import math
import re
import sys

import numpy as np

CPU_CONFIG = {"INFERENCE_PRECISION_HINT": "f32", "KV_CACHE_PRECISION": "f32",
              "DYNAMIC_QUANTIZATION_GROUP_SIZE": "0", "INFERENCE_NUM_THREADS": "2"}


def compile_model(folder):
    import openvino as ov
    core = ov.Core()
    return core.compile_model(core.read_model(f"{folder}/openvino_model.xml"), "CPU",
                              CPU_CONFIG)


def nll(logits, targets):
    logits = logits.astype(np.float64)
    m = logits.max(axis=-1, keepdims=True)
    lse = m[..., 0] + np.log(np.exp(logits - m).sum(axis=-1))
    picked = np.take_along_axis(logits, targets[..., None], axis=-1)[..., 0]
    return float((lse - picked).sum())


def run(request, ids, past):
    batch, length = ids.shape
    request.infer({"input_ids": ids,
                   "attention_mask": np.ones((batch, past + length), np.int64),
                   "position_ids": np.tile(np.arange(past, past + length, dtype=np.int64),
                                           (batch, 1)),
                   "beam_idx": np.arange(batch, dtype=np.int32)})
    return request.get_tensor("logits").data


def ppl(args):
    folder, tokens_path, reference_path, tolerance = args[:4]
    reference = json.load(open(reference_path))
    seq_len = reference["seq_len"]
    tokens = np.fromfile(tokens_path, dtype="<i4").reshape(-1, seq_len).astype(np.int64)
    request = compile_model(folder).create_infer_request()
    prefill = int(args[args.index("--prefill") + 1]) if "--prefill" in args else None
    totals = {"full-sequence": [0.0, 0]}
    if prefill:
        totals[f"prefill {prefill} + decode"] = [0.0, 0]
    for start in range(0, tokens.shape[0], 8):
        window = tokens[start:start + 8]
        request.reset_state()
        logits = run(request, window, 0)[:, :-1]
        totals["full-sequence"][0] += nll(logits, window[:, 1:])
        totals["full-sequence"][1] += window.shape[0] * (seq_len - 1)
        if prefill:
            request.reset_state()
            key = f"prefill {prefill} + decode"
            # Positions 0..P-1 predict 1..P; then token t at position t
            # (t cached before it) predicts t + 1.
            logits = run(request, window[:, :prefill], 0).copy()
            totals[key][0] += nll(logits, window[:, 1:prefill + 1])
            for t in range(prefill, seq_len - 1):
                step = run(request, window[:, t:t + 1], t)
                totals[key][0] += nll(step, window[:, t + 1:t + 2])
            totals[key][1] += window.shape[0] * (seq_len - 1)
    ok = True
    for name, (total, count) in totals.items():
        ours = math.exp(total / count)
        rel = abs(ours - reference["perplexity"]) / reference["perplexity"]
        good = rel <= float(tolerance)
        ok &= good
        print(f"{name} perplexity: openvino {ours:.6f} phi-run "
              f"{reference['perplexity']:.6f} rel {rel:.2e} {'ok' if good else 'MISMATCH'}")
    return ok


def genai(args):
    import openvino_genai
    folder, reference_path = args[:2]
    reference = json.load(open(reference_path))
    pipe = openvino_genai.LLMPipeline(folder, "CPU", **CPU_CONFIG)
    tokenizer = pipe.get_tokenizer()
    same_prompt = True
    if reference.get("prompt_text") is not None:
        encoded = tokenizer.encode(reference["prompt_text"], add_special_tokens=False)
        ids = [int(i) for i in np.array(encoded.input_ids.data)[0]]
        same_prompt = ids == reference["prompt_ids"]
        print(f"openvino tokenizer: {len(ids)} prompt ids, "
              f"{'equal to phi-run' if same_prompt else 'MISMATCH ' + str(ids)}")
    import openvino as ov
    prompt = np.array([reference["prompt_ids"]], dtype=np.int64)
    encoded = openvino_genai.TokenizedInputs(ov.Tensor(prompt),
                                             ov.Tensor(np.ones_like(prompt)))
    config = pipe.get_generation_config()
    config.max_new_tokens = len(reference["new_ids"]) + (reference.get("stopped_by") is not None)
    config.do_sample = False
    result = pipe.generate(encoded, config)
    new = [int(t) for t in result.tokens[0]]
    eos = json.load(open(f"{folder}/generation_config.json"))["eos_token_id"]
    eos = set(eos if isinstance(eos, list) else [eos])
    stop = new.pop() if new and new[-1] in eos else None
    same = new == reference["new_ids"] and stop == reference.get("stopped_by")
    print(f"LLMPipeline greedy: {len(new)} tokens, stopped by {stop}; "
          f"{'equal to phi-run' if same else 'MISMATCH ' + str(new) + ' vs ' + str(reference['new_ids'])}")
    return same_prompt and same


def read(args):
    try:
        compile_model(args[0])
    except Exception as error:  # OpenVINO raises RuntimeError subclasses
        print(f"openvino refused: {str(error).splitlines()[0]}")
        return False
    print("openvino compiled the model")
    return True


def tokenizer(args):
    import openvino as ov
    from openvino_tokenizers import convert_tokenizer
    from transformers import AutoTokenizer
    checkpoint, folder = args[:2]
    tok, detok = convert_tokenizer(AutoTokenizer.from_pretrained(checkpoint),
                                   with_detokenizer=True)
    ov.save_model(tok, f"{folder}/openvino_tokenizer.xml")
    ov.save_model(detok, f"{folder}/openvino_detokenizer.xml")
    print("wrote openvino_tokenizer.xml and openvino_detokenizer.xml")
    return True


def ir_constants(folder):
    """{name: (element_type, shape, bytes)} of every Const of an IR folder."""
    import xml.etree.ElementTree as ET
    blob = open(f"{folder}/openvino_model.bin", "rb").read()
    out = {}
    for layer in ET.parse(f"{folder}/openvino_model.xml").getroot().iter("layer"):
        if layer.get("type") != "Const":
            continue
        data = layer.find("data")
        offset, size = int(data.get("offset")), int(data.get("size"))
        out[layer.get("name")] = (data.get("element_type"),
                                  data.get("shape").replace(" ", ""),
                                  blob[offset:offset + size])
    return out


def nncf_compress(fp32_folder, out_folder, mode, group, all_layers):
    import shutil
    import nncf
    import openvino as ov
    model = ov.Core().read_model(f"{fp32_folder}/openvino_model.xml")
    mode = {"int4_asym": nncf.CompressWeightsMode.INT4_ASYM,
            "int4_sym": nncf.CompressWeightsMode.INT4_SYM,
            "int8_asym": nncf.CompressWeightsMode.INT8_ASYM}[mode]
    # The rotary cos/sin tables are Gathers from constants, which NNCF
    # would take for embeddings; they are not weights (optimum-intel's
    # exports compute them), so they are left out.
    # INT8 modes compress every layer and take no ratio, group size or
    # all_layers (they are per channel).
    options = ({} if mode == nncf.CompressWeightsMode.INT8_ASYM else
               {"group_size": int(group), "ratio": 1.0, "all_layers": all_layers})
    model = nncf.compress_weights(model, mode=mode,
                                  ignored_scope=nncf.IgnoredScope(patterns=["model/rotary/.*"]),
                                  **options)
    ov.save_model(model, f"{out_folder}/openvino_model.xml", compress_to_fp16=False)
    for name in ("config.json", "generation_config.json"):
        shutil.copy(f"{fp32_folder}/{name}", f"{out_folder}/{name}")


def nncf_codes(args):
    import tempfile
    ours_folder, fp32_folder, mode, group = args[:4]
    # --default-mix: NNCF's all_layers=False, which keeps the embedding and
    # the lm_head in INT8_ASYM (its backup mode) while the linears get MODE.
    all_layers = "--default-mix" not in args
    with tempfile.TemporaryDirectory() as tmp:
        nncf_compress(fp32_folder, tmp, mode, group, all_layers=all_layers)
        theirs = ir_constants(tmp)
    ours = ir_constants(ours_folder)
    # Codes are named after the weight; zero points and scales add a suffix.
    low_bit = [n for n, (t, _, _) in ours.items()
               if t in ("u4", "i4", "u8") and "/" not in n]
    theirs_low_bit = [n for n, (t, _, _) in theirs.items()
                      if t in ("u4", "i4", "u8") and "/" not in n]
    equal, differing = 0, []
    for name in low_bit:
        parts = [name] + [f"{name}/{s}" for s in ("zero_point", "scale")
                          if f"{name}/{s}" in ours]
        # A tied table written twice is "<name>_1" for the lm_head; NNCF
        # compresses the one shared constant.
        theirs_name = re.sub(r"_\d+$", "", name) if name not in theirs else name
        same = all(p.replace(name, theirs_name, 1) in theirs
                   and ours[p] == theirs[p.replace(name, theirs_name, 1)] for p in parts)
        if same:
            equal += 1
        else:
            differing.append(name)
    # NNCF also compresses the embedding table when all_layers is set; we
    # keep it float unless asked, so only ours need to be among NNCF's.
    ok = not differing and equal > 0
    print(f"nncf {mode} g{group}: {equal} of our {len(low_bit)} low-bit weights equal to "
          f"NNCF's byte for byte (NNCF compressed {len(theirs_low_bit)})"
          + ("" if ok else f"; DIFFERENT: {differing[:5]}"))
    return ok


def nncf_write(args):
    out_folder, fp32_folder, mode, group = args[:4]
    nncf_compress(fp32_folder, out_folder, mode, group,
                  all_layers="--default-mix" not in args)
    return True


def main():
    command, args = sys.argv[1], sys.argv[2:]
    ok = {"ppl": ppl, "genai": genai, "read": read, "tokenizer": tokenizer,
          "nncf": nncf_codes, "nncf-write": nncf_write}[command](args)
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
