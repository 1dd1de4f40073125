//===- PhiAttrs.td - phi dialect attributes -----------------*- tablegen -*-===//
//
// The attributes that carry what config.json says about the math: where a
// weight lives (#phi.param), the rotary embedding (#phi.rope) and the model
// configuration (#phi.config).
//
//===----------------------------------------------------------------------===//
#ifndef PHI_ATTRS_TD
#define PHI_ATTRS_TD

include "dialects/Phi/PhiBase.td"
include "mlir/IR/BuiltinAttributeInterfaces.td"

// A quoted string kept as a StringAttr; the generic attribute parser would
// read `"a" : type`, which clashes with the `::` separator of #phi.param.
def Phi_QuotedString : AttrOrTypeParameter<"::mlir::StringAttr", "a quoted string"> {
  let parser = [{ [&]() -> ::mlir::FailureOr<::mlir::StringAttr> {
    std::string value;
    if ($_parser.parseString(&value))
      return ::mlir::failure();
    return ::mlir::StringAttr::get($_ctxt, value);
  }() }];
  let printer = [{ $_printer.printString($_self.getValue()) }];
}

def Phi_ParamAttr : Phi_Attr<"Param", "param", [TypedAttrInterface]> {
  let summary = "a tensor named in a parameter store";
  let description = [{
    `#phi.param<"model"::"model.layers.0.mlp.down_proj.weight"> : tensor<256x768xbf16>`
    names tensor `key` of parameter store `scope` (a store the enclosing
    `phi.model` lists in its `stores` attribute). The type is the tensor's
    shape and element type in the file; the bytes stay in the mapped file.
  }];
  let parameters = (ins Phi_QuotedString:$scope, Phi_QuotedString:$key,
                        AttributeSelfTypeParameter<"">:$type);
  // Printed `<"scope"::"key">`; custom because `::` is two tokens.
  let hasCustomAssemblyFormat = 1;
  let builders = [
    AttrBuilderWithInferredContext<(ins "StringAttr":$scope, "StringAttr":$key,
                                        "Type":$type), [{
      return $_get(type.getContext(), scope, key, type);
    }]>
  ];
  let genVerifyDecl = 1;
}

def Phi_RopeAttr : Phi_Attr<"Rope", "rope"> {
  let summary = "rotary position embedding settings";
  let description = [{
    ```
    #phi.rope<kind = longrope, theta = 10000.0, rotary_dim = 32,
              original_max_positions = 512, max_positions = 8192,
              attention_factor = 1.2018504251546631,
              short_factor = array<f64: ...>, long_factor = array<f64: ...>>
    ```
    `rotary_dim` is `head_dim * partial_rotary_factor`. `default` rotates with
    plain `theta` and no factors; `longrope` needs `rotary_dim / 2` short and
    long factors. `attention_factor` scales cos and sin; for longrope
    transformers derives it as `sqrt(1 + ln(s) / ln(original_max_positions))`
    with `s = max_positions / original_max_positions` (1 when s <= 1) unless
    the checkpoint gives it. PhiMoE gives two (short_mscale, long_mscale):
    `long_attention_factor`, when present, replaces `attention_factor` once
    the long factors apply.
  }];
  let parameters = (ins
    EnumParameter<Phi_RopeKind>:$kind,
    "FloatAttr":$theta,
    "int64_t":$rotary_dim,
    "int64_t":$original_max_positions,
    "int64_t":$max_positions,
    "FloatAttr":$attention_factor,
    OptionalParameter<"DenseF64ArrayAttr">:$short_factor,
    OptionalParameter<"DenseF64ArrayAttr">:$long_factor,
    OptionalParameter<"FloatAttr">:$long_attention_factor);
  let assemblyFormat = "`<` struct(params) `>`";
  let genVerifyDecl = 1;
  let extraClassDeclaration = [{
    /// inv_freq for a forward pass whose highest position is `maxPosition`,
    /// computed in fp32 exactly as transformers does.
    void computeInvFreq(int64_t maxPosition, ::llvm::SmallVectorImpl<float> &out) const;
    /// True when a forward pass reaching `maxPosition` uses long factors.
    bool usesLongFactors(int64_t maxPosition) const;
    /// The cos/sin scale for a forward pass reaching `maxPosition`.
    double getCosSinScale(int64_t maxPosition) const;
    /// transformers' default attention factor for these settings.
    static double impliedAttentionFactor(RopeKind kind, int64_t originalMax,
                                         int64_t max);
  }];
}

def Phi_ConfigAttr : Phi_Attr<"Config", "config"> {
  let summary = "model-wide settings from config.json";
  let description = [{
    The fields of config.json that are not a property of a single op:
    architecture, vocabulary and hidden sizes, layer count, context length
    and the special token ids generation needs (`eos_token_ids` is the union
    of config.json's and generation_config.json's end tokens).
  }];
  let parameters = (ins
    "StringAttr":$architecture,
    "int64_t":$vocab_size,
    "int64_t":$hidden_size,
    "int64_t":$num_layers,
    "int64_t":$max_positions,
    "int64_t":$bos_token_id,
    "DenseI64ArrayAttr":$eos_token_ids,
    "int64_t":$pad_token_id,
    "BoolAttr":$tie_word_embeddings);
  let assemblyFormat = "`<` struct(params) `>`";
  let genVerifyDecl = 1;
}

#endif // PHI_ATTRS_TD
