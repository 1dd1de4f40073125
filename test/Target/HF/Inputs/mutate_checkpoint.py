#!/usr/bin/env python3
"""Writes a broken copy of a Hugging Face checkpoint folder for error tests.

usage: mutate_checkpoint.py SRC_DIR DST_DIR MUTATION

Each mutation damages one thing the importer must reject with a clear
message. Only the standard library is used, so the tests run anywhere.
"""
import json
import os
import shutil
import struct
import sys


def read_safetensors(path):
    with open(path, "rb") as f:
        data = f.read()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + n])
    return header, data[8 + n:]


def write_safetensors(path, tensors):
    """tensors: name -> (dtype, shape, bytes); written packed, no gaps."""
    header, body = {}, b""
    for name, (dtype, shape, data) in tensors.items():
        header[name] = {"dtype": dtype, "shape": shape,
                        "data_offsets": [len(body), len(body) + len(data)]}
        body += data
    blob = json.dumps(header).encode()
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(blob)) + blob + body)


def bf16_to_f32_bytes(data):
    out = bytearray()
    for i in range(0, len(data), 2):
        out += b"\0\0" + data[i:i + 2]
    return bytes(out)


def main():
    src, dst, mutation = sys.argv[1:4]
    if os.path.exists(dst):
        shutil.rmtree(dst)
    os.makedirs(dst)
    for name in ("config.json", "generation_config.json"):
        if os.path.exists(os.path.join(src, name)):
            shutil.copy(os.path.join(src, name), dst)
    weights = os.path.join(dst, "model.safetensors")
    header, body = read_safetensors(os.path.join(src, "model.safetensors"))
    tensors = {}
    for name, entry in header.items():
        if name == "__metadata__":
            continue
        begin, end = entry["data_offsets"]
        tensors[name] = (entry["dtype"], entry["shape"], body[begin:end])
    config = json.load(open(os.path.join(dst, "config.json")))

    if mutation == "drop-tensor":
        del tensors["model.layers.1.mlp.down_proj.weight"]
    elif mutation == "extra-layer-tensor":
        tensors["model.layers.99.input_layernorm.weight"] = \
            tensors["model.norm.weight"]
    elif mutation == "f32-dtype":
        # A valid F32 tensor in a checkpoint whose config.json says bfloat16.
        dtype, shape, data = tensors["model.norm.weight"]
        tensors["model.norm.weight"] = ("F32", shape, bf16_to_f32_bytes(data))
    elif mutation == "wrong-shape":
        config["intermediate_size"] = 512
    elif mutation == "unknown-architecture":
        config["architectures"] = ["LlamaForCausalLM"]
    elif mutation == "missing-field":
        del config["hidden_size"]
    elif mutation == "mistyped-field":
        config["num_attention_heads"] = "eight"
    elif mutation == "unknown-field":
        config["mystery_scaling"] = 2.0
    elif mutation == "rope-disagree":
        config["rope_parameters"]["rope_theta"] = 500000.0
    elif mutation == "rope-type":
        config["rope_scaling"]["type"] = "yarn"
        config["rope_scaling"]["rope_type"] = "yarn"
        config["rope_parameters"]["type"] = "yarn"
        config["rope_parameters"]["rope_type"] = "yarn"
    elif mutation == "factor-count":
        for key in ("rope_scaling", "rope_parameters"):
            config[key]["short_factor"] = config[key]["short_factor"][:-1]
    elif mutation == "attention-bias":
        config["attention_bias"] = True
    elif mutation == "phimoe-real-spelling":
        # The real Phi-3.5-MoE config.json names the class PhiMoEForCausalLM.
        config["architectures"] = ["PhiMoEForCausalLM"]
    elif mutation == "moe-top3":
        config["num_experts_per_tok"] = 3
    elif mutation == "moe-no-experts":
        del config["num_local_experts"]
    elif mutation == "moe-drop-expert":
        del tensors["model.layers.2.block_sparse_moe.experts.3.w2.weight"]
    elif mutation == "moe-one-mscale":
        for key in ("rope_scaling", "rope_parameters"):
            del config[key]["long_mscale"]
    elif mutation == "rope-parameters-only":
        # transformers 5 spelling alone: must import the same model.
        for key in ("rope_scaling", "rope_theta", "torch_dtype"):
            config.pop(key, None)
    elif mutation == "rope-scaling-only":
        # transformers 4 spelling alone.
        config.pop("rope_parameters", None)
    elif mutation not in ("truncated-header", "huge-header", "offsets-past-eof"):
        sys.exit("unknown mutation " + mutation)

    json.dump(config, open(os.path.join(dst, "config.json"), "w"), indent=1)
    write_safetensors(weights, tensors)

    if mutation == "truncated-header":
        with open(weights, "rb") as f:
            data = f.read()
        with open(weights, "wb") as f:
            f.write(data[:100])
    elif mutation == "huge-header":
        with open(weights, "r+b") as f:
            f.write(struct.pack("<Q", 1 << 40))
    elif mutation == "offsets-past-eof":
        with open(weights, "rb") as f:
            data = f.read()
        with open(weights, "wb") as f:
            f.write(data[:len(data) - 1000])


if __name__ == "__main__":
    main()
