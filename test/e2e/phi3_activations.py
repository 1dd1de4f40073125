"""Calibration statistics for a Phi-3 checkpoint computed in numpy.

A test-only producer of the calibration side store that GPTQ and AWQ read
(the contract with --phiq-calibrate): for every linear weight key K,
  K.in_sumsq  [cols] f32   sum over tokens of x^2 per input channel
  K.in_absmax [cols] f32   max over tokens of |x| per input channel
  K.hessian   [cols, cols] f32   X^T X summed over tokens
  K.count     [1] i64      tokens seen
It runs the Phi-3 forward pass in fp32 (longrope with the short factors,
which is all sequences <= original_max_position_embeddings use) and checks
itself against the checkpoint's reference logits when asked.

usage: phi3_activations.py MODEL_DIR TOKENS.i32 OUT.safetensors [--seq 256]
       [--check-logits]
"""
import argparse
import json
import os
import struct
import sys

import numpy as np


def read_safetensors(path):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    out = {}
    for name, e in header.items():
        if name == "__metadata__":
            continue
        b, t = e["data_offsets"]
        raw = data[b:t]
        if e["dtype"] == "BF16":
            a = np.frombuffer(raw, dtype=np.uint16).astype(np.uint32) << 16
            a = a.view(np.float32)
        elif e["dtype"] == "F16":
            a = np.frombuffer(raw, dtype=np.float16).astype(np.float32)
        elif e["dtype"] == "F32":
            a = np.frombuffer(raw, dtype=np.float32)
        else:
            raise SystemExit(f"{path}: tensor {name}: dtype {e['dtype']} not handled")
        out[name] = a.reshape(e["shape"])
    return out


def write_safetensors(path, tensors):
    header, blobs, offset = {}, [], 0
    for name, a in tensors.items():
        a = np.ascontiguousarray(a)
        dtype = {np.float32: "F32", np.int64: "I64"}[a.dtype.type]
        header[name] = {"dtype": dtype, "shape": list(a.shape),
                        "data_offsets": [offset, offset + a.nbytes]}
        blobs.append(a.tobytes())
        offset += a.nbytes
    text = json.dumps(header, separators=(",", ":"))
    text += " " * ((8 - (8 + len(text)) % 8) % 8)
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text.encode())
        for b in blobs:
            f.write(b)
    os.replace(tmp, path)


class Stats:
    def __init__(self):
        self.s = {}

    def add(self, key, x):
        x = x.reshape(-1, x.shape[-1]).astype(np.float64)
        if key not in self.s:
            c = x.shape[1]
            self.s[key] = [np.zeros(c), np.zeros(c), np.zeros((c, c)), 0]
        e = self.s[key]
        e[0] += (x * x).sum(0)
        e[1] = np.maximum(e[1], np.abs(x).max(0))
        e[2] += x.T @ x
        e[3] += x.shape[0]

    def tensors(self):
        out = {}
        for key, (sumsq, absmax, h, n) in self.s.items():
            out[key + ".in_sumsq"] = sumsq.astype(np.float32)
            out[key + ".in_absmax"] = absmax.astype(np.float32)
            out[key + ".hessian"] = h.astype(np.float32)
            out[key + ".count"] = np.array([n], dtype=np.int64)
        return out


def forward(w, cfg, tokens, stats=None):
    """tokens [B, T] -> logits [B, T, V]; records linear inputs in stats."""
    H = cfg["hidden_size"]
    nh, nkv = cfg["num_attention_heads"], cfg["num_key_value_heads"]
    hd = H // nh
    eps = cfg["rms_norm_eps"]
    rope = cfg.get("rope_parameters") or cfg["rope_scaling"]
    theta = rope.get("rope_theta", cfg.get("rope_theta", 10000.0))
    factor = np.array(rope["short_factor"], dtype=np.float64)
    inv = 1.0 / (factor * theta ** (np.arange(0, hd, 2) / hd))
    scale = cfg["max_position_embeddings"] / cfg["original_max_position_embeddings"]
    att = np.sqrt(1 + np.log(scale) / np.log(cfg["original_max_position_embeddings"]))
    B, T = tokens.shape
    ang = np.arange(T)[:, None] * inv[None, :]
    emb = np.concatenate([ang, ang], -1)
    cos = (np.cos(emb) * att).astype(np.float32)
    sin = (np.sin(emb) * att).astype(np.float32)

    def rot(x):  # [B, h, T, hd]
        x1, x2 = x[..., : hd // 2], x[..., hd // 2:]
        return x * cos + np.concatenate([-x2, x1], -1) * sin

    def norm(x, g):
        return (x / np.sqrt((x * x).mean(-1, keepdims=True) + eps)) * g

    def linear(key, x):
        if stats is not None:
            stats.add(key, x)
        return x @ w[key].T

    x = w["model.embed_tokens.weight"][tokens]
    mask = np.triu(np.full((T, T), -np.inf, dtype=np.float32), 1)
    for l in range(cfg["num_hidden_layers"]):
        p = f"model.layers.{l}."
        h = norm(x, w[p + "input_layernorm.weight"])
        qkv = linear(p + "self_attn.qkv_proj.weight", h)
        q = qkv[..., : nh * hd].reshape(B, T, nh, hd).transpose(0, 2, 1, 3)
        k = qkv[..., nh * hd: (nh + nkv) * hd].reshape(B, T, nkv, hd).transpose(0, 2, 1, 3)
        v = qkv[..., (nh + nkv) * hd:].reshape(B, T, nkv, hd).transpose(0, 2, 1, 3)
        q, k = rot(q), rot(k)
        k = np.repeat(k, nh // nkv, 1)
        v = np.repeat(v, nh // nkv, 1)
        s = q @ k.transpose(0, 1, 3, 2) / np.sqrt(hd) + mask
        s = np.exp(s - s.max(-1, keepdims=True))
        s /= s.sum(-1, keepdims=True)
        o = (s @ v).transpose(0, 2, 1, 3).reshape(B, T, nh * hd)
        x = x + linear(p + "self_attn.o_proj.weight", o)
        h = norm(x, w[p + "post_attention_layernorm.weight"])
        gu = linear(p + "mlp.gate_up_proj.weight", h)
        I = gu.shape[-1] // 2
        g, u = gu[..., :I], gu[..., I:]
        m = g / (1 + np.exp(-g)) * u
        x = x + linear(p + "mlp.down_proj.weight", m)
    x = norm(x, w["model.norm.weight"])
    return linear("lm_head.weight", x)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("model")
    ap.add_argument("tokens")
    ap.add_argument("out")
    ap.add_argument("--seq", type=int, default=256)
    ap.add_argument("--check-logits", action="store_true")
    a = ap.parse_args()
    cfg = json.load(open(os.path.join(a.model, "config.json")))
    w = read_safetensors(os.path.join(a.model, "model.safetensors"))
    if a.check_logits:
        ev = np.fromfile(os.path.join(a.model, "reference/eval_tokens.i32"), "<i4")
        ev = ev.reshape(-1, 256)[:1]
        ref = np.fromfile(os.path.join(a.model, "reference/logits_w0.f32"), "<f4")
        got = forward(w, cfg, ev)[0]
        diff = float(np.abs(got - ref.reshape(got.shape)).max())
        print(f"max |logit - reference| = {diff:.3g}")
        if diff > 1e-2:
            sys.exit("the numpy forward pass disagrees with the reference logits")
    tokens = np.fromfile(a.tokens, "<i4").reshape(-1, a.seq)
    stats = Stats()
    for i in range(0, tokens.shape[0], 8):
        forward(w, cfg, tokens[i: i + 8], stats)
    write_safetensors(a.out, stats.tensors())


if __name__ == "__main__":
    main()
