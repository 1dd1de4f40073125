//===- PhiOps.td - phi dialect operations -------------------*- tablegen -*-===//
//
// The transformer-level operations of a Phi model. Every op works on
// [batch, sequence, features] fp32 activations; weights are SSA values made
// by `phi.weight` so that quantization can replace their producer without
// touching the consumers.
//
//===----------------------------------------------------------------------===//
#ifndef PHI_OPS_TD
#define PHI_OPS_TD

include "dialects/Phi/PhiBase.td"
include "dialects/Phi/PhiAttrs.td"
include "mlir/IR/OpBase.td"
include "mlir/Interfaces/InferTypeOpInterface.td"
include "mlir/IR/SymbolInterfaces.td"
include "mlir/IR/RegionKindInterface.td"
include "mlir/Interfaces/SideEffectInterfaces.td"

def Phi_Activations : TensorRankOf<[F32], [3]>;
def Phi_TokenIds : TensorRankOf<[I32], [2]>;
def Phi_WeightTensor : RankedTensorOf<[F32, F16, BF16]>;

//===----------------------------------------------------------------------===//
// Container
//===----------------------------------------------------------------------===//

def Phi_ModelOp : Phi_Op<"model", [
    Symbol, IsolatedFromAbove, SingleBlock]> {
  let summary = "a whole language model: token ids in, logits out";
  let description = [{
    The body has one argument, the token ids `tensor<?x?xi32>`, and ends in
    `phi.output` with the logits `tensor<?x?xVxf32>`. `config` carries the
    model-wide settings; `stores` maps each parameter store named by a
    `#phi.param` inside to the checkpoint path it resolves to.

    ```mlir
    phi.model @phi35 {config = #phi.config<...>, stores = {model = "/m/phi35"}} {
    ^bb0(%ids: tensor<?x?xi32>):
      ...
      phi.output %logits : tensor<?x?x3520xf32>
    }
    ```
  }];
  let arguments = (ins SymbolNameAttr:$sym_name, Phi_ConfigAttr:$config,
                       DictionaryAttr:$stores);
  let regions = (region SizedRegion<1>:$body);
  let assemblyFormat = "$sym_name attr-dict-with-keyword $body";
  let hasVerifier = 1;
  let extraClassDeclaration = [{
    /// The checkpoint path of parameter store `scope`, if listed.
    std::optional<::llvm::StringRef> getStorePath(::llvm::StringRef scope);
    ::mlir::Value getTokenIds() { return getBody().front().getArgument(0); }
  }];
}

def Phi_OutputOp : Phi_Op<"output", [Pure, Terminator, HasParent<"ModelOp">]> {
  let summary = "the logits a model returns";
  let arguments = (ins Phi_Activations:$logits);
  let assemblyFormat = "$logits attr-dict `:` type($logits)";
}

//===----------------------------------------------------------------------===//
// Weights
//===----------------------------------------------------------------------===//

def Phi_WeightOp : Phi_Op<"weight", [Pure]> {
  let summary = "a weight tensor, by reference or inline";
  let description = [{
    ```mlir
    %w = phi.weight #phi.param<"model"::"model.norm.weight"> : tensor<256xbf16>
    %b = phi.weight dense<0.5> : tensor<4xf32>
    ```
    The result has the value's type. A `#phi.param` value must name a store
    that the enclosing `phi.model` lists.
  }];
  let arguments = (ins TypedAttrInterface:$value);
  let results = (outs Phi_WeightTensor:$result);
  let hasCustomAssemblyFormat = 1;
  let hasVerifier = 1;
  let builders = [OpBuilder<(ins "TypedAttr":$value), [{
    build($_builder, $_state, value.getType(), value);
  }]>];
}

//===----------------------------------------------------------------------===//
// Layers
//===----------------------------------------------------------------------===//

def Phi_EmbeddingOp : Phi_Op<"embedding", [Pure]> {
  let summary = "token embedding lookup";
  let description = [{
    `result[b, t, :] = table[ids[b, t], :]` with `table : [vocab, hidden]`.
  }];
  let arguments = (ins Phi_TokenIds:$ids, Phi_WeightTensor:$table);
  let results = (outs Phi_Activations:$result);
  let assemblyFormat = [{
    $ids `,` $table attr-dict `:` `(` type($ids) `,` type($table) `)` `->` type($result)
  }];
  let hasVerifier = 1;
}

def Phi_RmsNormOp : Phi_Op<"rms_norm", [Pure]> {
  let summary = "RMS normalization with a learned scale and optional bias";
  let description = [{
    `y = x / sqrt(mean(x^2) + epsilon) * weight + bias` over the feature
    dimension. Checkpoints use no bias; llama.cpp runs PhiMoE's LayerNorms
    as RMS norms with a bias, which `--phiq-llamacpp-compat` reproduces.
  }];
  let arguments = (ins Phi_Activations:$input, Phi_WeightTensor:$weight,
                       Optional<Phi_WeightTensor>:$bias, F64Attr:$epsilon);
  let results = (outs Phi_Activations:$result);
  let assemblyFormat = [{
    $input `,` $weight (`,` $bias^)? attr-dict `:` `(` type($input) `,` type($weight) (`,` type($bias)^)? `)` `->` type($result)
  }];
  let hasVerifier = 1;
}

def Phi_LayerNormOp : Phi_Op<"layer_norm", [Pure]> {
  let summary = "layer normalization with a learned scale and optional bias";
  let description = [{
    `y = (x - mean(x)) / sqrt(var(x) + epsilon) * weight + bias` over the
    feature dimension (biased variance, as torch.nn.LayerNorm).
  }];
  let arguments = (ins Phi_Activations:$input, Phi_WeightTensor:$weight,
                       Optional<Phi_WeightTensor>:$bias, F64Attr:$epsilon);
  let results = (outs Phi_Activations:$result);
  let assemblyFormat = [{
    $input `,` $weight (`,` $bias^)? attr-dict `:` `(` type($input) `,` type($weight) (`,` type($bias)^)? `)` `->` type($result)
  }];
  let hasVerifier = 1;
}

def Phi_LinearOp : Phi_Op<"linear", [Pure]> {
  let summary = "a projection x W^T (+ b)";
  let description = [{
    `result = input * weight^T + bias` with `weight : [out, in]`, the layout
    checkpoints store. Fused projections (qkv_proj, gate_up_proj) are one
    linear followed by `phi.split` or `phi.glu`.
  }];
  let arguments = (ins Phi_Activations:$input, Phi_WeightTensor:$weight,
                       Optional<Phi_WeightTensor>:$bias);
  let results = (outs Phi_Activations:$result);
  let assemblyFormat = [{
    $input `,` $weight (`,` $bias^)? attr-dict `:` `(` type($input) `,` type($weight) (`,` type($bias)^)? `)` `->` type($result)
  }];
  let hasVerifier = 1;
}

def Phi_SplitOp : Phi_Op<"split", [Pure]> {
  let summary = "splits the feature dimension into consecutive parts";
  let description = [{
    Splits a fused projection (e.g. qkv_proj's `[q | k | v]`) into its parts;
    the result feature sizes must add up to the input's.
  }];
  let arguments = (ins Phi_Activations:$input);
  let results = (outs Variadic<Phi_Activations>:$results);
  let assemblyFormat = "$input attr-dict `:` type($input) `->` type($results)";
  let hasVerifier = 1;
}

def Phi_AttentionOp : Phi_Op<"attention", [Pure]> {
  let summary = "causal grouped-query self-attention with rotary embedding";
  let description = [{
    Takes the projected queries `[.., num_heads * head_dim]` and keys and
    values `[.., num_kv_heads * head_dim]`, rotates queries and keys with
    `rope`, and returns the attended values `[.., num_heads * head_dim]`
    (before o_proj). Query head `h` reads key/value head
    `h / (num_heads / num_kv_heads)`. Scores are scaled by `scale`
    (1/sqrt(head_dim) unless given); a key at position j is visible to the
    query at position i when `j <= i` and `i - j < sliding_window`.
  }];
  let arguments = (ins Phi_Activations:$query, Phi_Activations:$key,
                       Phi_Activations:$value,
                       ConfinedAttr<I64Attr, [IntPositive]>:$num_heads,
                       ConfinedAttr<I64Attr, [IntPositive]>:$num_kv_heads,
                       ConfinedAttr<I64Attr, [IntPositive]>:$head_dim,
                       Phi_RopeAttr:$rope,
                       OptionalAttr<ConfinedAttr<I64Attr, [IntPositive]>>:$sliding_window,
                       OptionalAttr<F64Attr>:$scale);
  let results = (outs Phi_Activations:$result);
  let assemblyFormat = [{
    $query `,` $key `,` $value attr-dict `:` `(` type($query) `,` type($key) `,` type($value) `)` `->` type($result)
  }];
  let hasVerifier = 1;
  let extraClassDeclaration = [{
    /// The softmax scale: `scale` if set, 1/sqrt(head_dim) otherwise.
    double getSoftmaxScale();
  }];
}

def Phi_GluOp : Phi_Op<"glu", [Pure]> {
  let summary = "the gated MLP's gate: act(gate) * up";
  let description = [{
    The input is a fused gate_up projection `[.., 2 * I]` laid out
    `[gate | up]`; the result is `activation(gate) * up : [.., I]`. With the
    linears around it this is the gated MLP
    `down_proj(silu(gate_proj(x)) * up_proj(x))`.
  }];
  let arguments = (ins Phi_Activations:$input, Phi_Activation:$activation);
  let results = (outs Phi_Activations:$result);
  let assemblyFormat = [{
    $activation $input attr-dict `:` type($input) `->` type($result)
  }];
  let hasVerifier = 1;
}

//===----------------------------------------------------------------------===//
// Mixture of experts
//===----------------------------------------------------------------------===//

def Phi_MoeRouteOp : Phi_Op<"moe_route", [Pure]> {
  let summary = "picks the experts of each token from the router logits";
  let description = [{
    Takes the router logits `[.., num_experts]` (a `phi.linear` of the gate
    weight) and returns, per token, the `top_k` chosen experts `indices` and
    their mixing `weights`, best first.

    `sparsemixer` is PhiMoE's inference rule (transformers'
    PhimoeForCausalLM in eval mode, top_k = 2): the first expert is the
    argmax `m1`; its weight is its softmax probability over only the logits
    `s` with `(m1 - s) / max(|s|, m1) <= 2 * jitter_eps`. The second expert is
    the argmax `m2` of the logits without the first; its weight is its
    softmax probability over the logits other than the first with
    `(m2 - s) / max(|s|, m2) <= 2 * jitter_eps`. The two weights need not
    add up to one.

    `softmax_topk` is the plain rule (llama.cpp's): softmax over all logits,
    the `top_k` most probable, and with `normalize` their probabilities
    divided by their sum.
  }];
  let arguments = (ins Phi_Activations:$logits,
                       ConfinedAttr<I64Attr, [IntPositive]>:$top_k,
                       Phi_Routing:$routing,
                       OptionalAttr<F64Attr>:$jitter_eps,
                       UnitAttr:$normalize);
  let results = (outs Phi_Activations:$weights,
                      TensorRankOf<[I32], [3]>:$indices);
  let assemblyFormat = [{
    $routing $logits attr-dict `:` type($logits) `->` type($weights) `,` type($indices)
  }];
  let hasVerifier = 1;
}

def Phi_MoeExpertsOp : Phi_Op<"moe_experts", [Pure, AttrSizedOperandSegments]> {
  let summary = "the gated-MLP experts of a mixture-of-experts block";
  let description = [{
    `result[t] = sum_k weights[t, k] * down_e(act(gate_e(x[t])) * up_e(x[t]))`
    with `e = indices[t, k]`: each token runs through its chosen experts and
    their outputs are mixed by the routing weights.

    Each of `gate`, `up` and `down` is either one weight per expert
    (`num_experts` tensors of `[I, H]`, `[I, H]`, `[H, I]`, the Hugging
    Face layout `experts.E.w1/w3/w2`) or one stacked tensor (`[E, I, H]`,
    `[E, I, H]`, `[E, H, I]`, GGUF's `ffn_gate_exps` / `ffn_up_exps` /
    `ffn_down_exps`). Quantization can therefore work per expert or on the
    stack, and both checkpoint layouts map onto the op unchanged.
  }];
  let arguments = (ins Phi_Activations:$input, Phi_Activations:$weights,
                       TensorRankOf<[I32], [3]>:$indices,
                       Variadic<Phi_WeightTensor>:$gate,
                       Variadic<Phi_WeightTensor>:$up,
                       Variadic<Phi_WeightTensor>:$down,
                       ConfinedAttr<I64Attr, [IntPositive]>:$num_experts,
                       Phi_Activation:$activation);
  let results = (outs Phi_Activations:$result);
  let assemblyFormat = [{
    $activation $input `,` $weights `,` $indices
    `gate` `(` $gate `)` `up` `(` $up `)` `down` `(` $down `)` attr-dict `:`
    `(` type($input) `,` type($weights) `,` type($indices) `)`
    `gate` `(` type($gate) `)` `up` `(` type($up) `)` `down` `(` type($down) `)`
    `->` type($result)
  }];
  let hasVerifier = 1;
  let extraClassDeclaration = [{
    /// True when gate/up/down are stacked [E, ...] tensors.
    bool isStacked() {
      return getGate().size() == 1 &&
             ::llvm::cast<::mlir::RankedTensorType>(getGate()[0].getType())
                     .getRank() == 3;
    }
    int64_t getIntermediateSize();
  }];
}

def Phi_AddOp : Phi_Op<"add", [Pure, Commutative, SameOperandsAndResultType]> {
  let summary = "residual add";
  let arguments = (ins Phi_Activations:$lhs, Phi_Activations:$rhs);
  let results = (outs Phi_Activations:$result);
  let assemblyFormat = "$lhs `,` $rhs attr-dict `:` type($result)";
}

def Phi_LmHeadOp : Phi_Op<"lm_head", [Pure]> {
  let summary = "projection of the final hidden state onto the vocabulary";
  let description = [{
    `logits = x * weight^T + bias` with `weight : [vocab, hidden]`. With tied
    embeddings `weight` is the embedding table's `phi.weight` itself.
  }];
  let arguments = (ins Phi_Activations:$input, Phi_WeightTensor:$weight,
                       Optional<Phi_WeightTensor>:$bias);
  let results = (outs Phi_Activations:$result);
  let assemblyFormat = [{
    $input `,` $weight (`,` $bias^)? attr-dict `:` `(` type($input) `,` type($weight) (`,` type($bias)^)? `)` `->` type($result)
  }];
  let hasVerifier = 1;
}

#endif // PHI_OPS_TD
