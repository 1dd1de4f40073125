//===- TensorNames.cpp - Checkpoint names to GGUF names ---------*- C++ -*-===//
//
// The phi3 / phimoe tensor names of llama.cpp (gguf-py's tensor mapping):
// token_embd, blk.N.{attn_norm, attn_qkv | attn_q/k/v, attn_output,
// ffn_norm, ffn_up (Phi-3's fused gate_up), ffn_down, ffn_gate_inp,
// ffn_{gate,up,down}_exps}, output_norm, output. GGUF names map to
// themselves, so models imported from GGUF write and quantize too.
//
//===----------------------------------------------------------------------===//
#include "phiq/Target/GGUF/TensorNames.h"

#include "llvm/ADT/StringSwitch.h"

using namespace phiq::gguf;
using phiq::quant::TensorCategory;
using llvm::StringRef;

/// A name that already is a phi3 / phimoe GGUF name (a model imported from
/// GGUF references its tensors that way); stacked expert tensors stay whole.
static std::optional<TensorName> fromGGUFName(StringRef name) {
  using C = TensorCategory;
  std::optional<C> global = llvm::StringSwitch<std::optional<C>>(name)
                                .Case("token_embd.weight", C::TokenEmbedding)
                                .Case("output_norm.weight", C::Keep)
                                .Case("output_norm.bias", C::Keep)
                                .Case("output.weight", C::Output)
                                .Case("output.bias", C::Keep)
                                .Default(std::nullopt);
  if (global)
    return TensorName{name.str(), *global};
  StringRef rest = name;
  if (!rest.consume_front("blk."))
    return std::nullopt;
  auto [index, tail] = rest.split('.');
  unsigned layer;
  if (index.getAsInteger(10, layer) || tail.empty())
    return std::nullopt;
  std::optional<C> role =
      llvm::StringSwitch<std::optional<C>>(tail)
          .Cases({"attn_norm.weight", "attn_norm.bias", "ffn_norm.weight",
                  "ffn_norm.bias", "attn_q.bias", "attn_k.bias", "attn_v.bias",
                  "attn_output.bias", "ffn_gate_inp.weight"},
                 C::Keep)
          .Case("attn_qkv.weight", C::AttentionQKV)
          .Case("attn_q.weight", C::AttentionQ)
          .Case("attn_k.weight", C::AttentionK)
          .Case("attn_v.weight", C::AttentionV)
          .Case("attn_output.weight", C::AttentionOutput)
          .Cases({"ffn_up.weight", "ffn_up_exps.weight"}, C::FfnUp)
          .Case("ffn_gate_exps.weight", C::FfnGate)
          .Cases({"ffn_down.weight", "ffn_down_exps.weight"}, C::FfnDown)
          .Default(std::nullopt);
  if (!role)
    return std::nullopt;
  return TensorName{name.str(), *role, int(layer)};
}

std::optional<TensorName> phiq::gguf::ggufTensorName(StringRef name) {
  using C = TensorCategory;
  if (std::optional<TensorName> gguf = fromGGUFName(name))
    return gguf;
  if (name == "model.embed_tokens.weight")
    return TensorName{"token_embd.weight", C::TokenEmbedding};
  if (name == "model.norm.weight")
    return TensorName{"output_norm.weight", C::Keep};
  if (name == "model.norm.bias")
    return TensorName{"output_norm.bias", C::Keep};
  if (name == "lm_head.weight")
    return TensorName{"output.weight", C::Output};
  if (name == "lm_head.bias")
    return TensorName{"output.bias", C::Keep};

  StringRef rest = name;
  if (!rest.consume_front("model.layers."))
    return std::nullopt;
  auto [index, tail] = rest.split('.');
  unsigned layer;
  if (index.getAsInteger(10, layer) || tail.empty())
    return std::nullopt;
  std::string blk = "blk." + std::to_string(layer) + ".";

  // Experts: block_sparse_moe.experts.E.w{1,2,3}.weight.
  StringRef expertTail = tail;
  if (expertTail.consume_front("block_sparse_moe.experts.")) {
    auto [e, w] = expertTail.split('.');
    unsigned expert;
    if (e.getAsInteger(10, expert))
      return std::nullopt;
    std::optional<std::pair<const char *, C>> role =
        llvm::StringSwitch<std::optional<std::pair<const char *, C>>>(w)
            .Case("w1.weight", std::pair{"ffn_gate_exps.weight", C::FfnGate})
            .Case("w3.weight", std::pair{"ffn_up_exps.weight", C::FfnUp})
            .Case("w2.weight", std::pair{"ffn_down_exps.weight", C::FfnDown})
            .Default(std::nullopt);
    if (!role)
      return std::nullopt;
    return TensorName{blk + role->first, role->second, int(layer),
                      int(expert)};
  }

  std::optional<std::pair<const char *, C>> role =
      llvm::StringSwitch<std::optional<std::pair<const char *, C>>>(tail)
          .Case("input_layernorm.weight", std::pair{"attn_norm.weight", C::Keep})
          .Case("input_layernorm.bias", std::pair{"attn_norm.bias", C::Keep})
          .Case("post_attention_layernorm.weight",
                std::pair{"ffn_norm.weight", C::Keep})
          .Case("post_attention_layernorm.bias",
                std::pair{"ffn_norm.bias", C::Keep})
          .Case("self_attn.qkv_proj.weight",
                std::pair{"attn_qkv.weight", C::AttentionQKV})
          .Case("self_attn.q_proj.weight", std::pair{"attn_q.weight", C::AttentionQ})
          .Case("self_attn.q_proj.bias", std::pair{"attn_q.bias", C::Keep})
          .Case("self_attn.k_proj.weight", std::pair{"attn_k.weight", C::AttentionK})
          .Case("self_attn.k_proj.bias", std::pair{"attn_k.bias", C::Keep})
          .Case("self_attn.v_proj.weight", std::pair{"attn_v.weight", C::AttentionV})
          .Case("self_attn.v_proj.bias", std::pair{"attn_v.bias", C::Keep})
          .Case("self_attn.o_proj.weight",
                std::pair{"attn_output.weight", C::AttentionOutput})
          .Case("self_attn.o_proj.bias", std::pair{"attn_output.bias", C::Keep})
          .Case("mlp.gate_up_proj.weight", std::pair{"ffn_up.weight", C::FfnUp})
          .Case("mlp.down_proj.weight", std::pair{"ffn_down.weight", C::FfnDown})
          .Case("block_sparse_moe.gate.weight",
                std::pair{"ffn_gate_inp.weight", C::Keep})
          .Default(std::nullopt);
  if (!role)
    return std::nullopt;
  return TensorName{blk + role->first, role->second, int(layer)};
}
