//===- PhiBase.td - The phi dialect: Phi model graphs -------*- tablegen -*-===//
//
// The `phi` dialect holds a Phi-family language model at the level its
// checkpoint describes it: embeddings, norms, linear projections, attention
// with its rotary variant, the gated MLP and the LM head. Weights are not in
// the IR; `#phi.param` attributes name tensors in mapped parameter files.
//
//===----------------------------------------------------------------------===//
#ifndef PHI_BASE_TD
#define PHI_BASE_TD

include "mlir/IR/OpBase.td"
include "mlir/IR/AttrTypeBase.td"
include "mlir/IR/EnumAttr.td"

def Phi_Dialect : Dialect {
  let name = "phi";
  let cppNamespace = "::mlir::phi";
  let summary = "Phi language models as transformer-level operations";
  let description = [{
    A `phi.model` holds one decoder-only transformer as a function from token
    ids `tensor<?x?xi32>` (batch x sequence) to logits
    `tensor<?x?xVxf32>`. Activations are `tensor<?x?xDxf32>`; every
    feature dimension is static and checked by the verifiers against the
    weights and the attributes that came from config.json.

    Weights enter through `phi.weight`, whose value is either an inline
    `dense<...>` (small tests) or a `#phi.param<"store"::"name">` reference
    into a parameter store. The model's `stores` attribute maps each store
    name to the checkpoint it was imported from, so any tool can reopen it;
    printing the IR never prints weights.

    Rotary embeddings follow transformers: the first `rotary_dim` features of
    each head rotate (rotate_half pairing, i with i + rotary_dim/2) by
    `pos * inv_freq[i]`, `inv_freq[i] = 1 / (factor[i] * theta^(2i/rotary_dim))`.
    For `longrope`, `factor` is `short_factor` while the highest position of a
    forward pass is below `original_max_positions` and `long_factor` beyond
    it, and cos/sin are multiplied by `attention_factor`.
  }];
  let useDefaultAttributePrinterParser = 1;
  let extraClassDeclaration = [{
  private:
    // Defined in PhiAttrs.cpp, where the attribute storage classes are.
    void registerAttributes();
  public:
  }];
}

def Phi_RopeKind : I32EnumAttr<"RopeKind", "rotary position embedding variant", [
    I32EnumAttrCase<"Default", 0, "default">,
    I32EnumAttrCase<"LongRope", 1, "longrope">,
  ]> {
  let cppNamespace = "::mlir::phi";
  let genSpecializedAttr = 0;
}

def Phi_Activation : I32EnumAttr<"Activation", "gated MLP activation", [
    I32EnumAttrCase<"Silu", 0, "silu">,
  ]> {
  let cppNamespace = "::mlir::phi";
}

def Phi_Routing : I32EnumAttr<"Routing", "mixture-of-experts routing rule", [
    I32EnumAttrCase<"SparseMixer", 0, "sparsemixer">,
    I32EnumAttrCase<"SoftmaxTopK", 1, "softmax_topk">,
  ]> {
  let cppNamespace = "::mlir::phi";
}

class Phi_Op<string mnemonic, list<Trait> traits = []> :
    Op<Phi_Dialect, mnemonic, traits>;

class Phi_Attr<string name, string attrMnemonic, list<Trait> traits = []>
    : AttrDef<Phi_Dialect, name, traits> {
  let mnemonic = attrMnemonic;
}

#endif // PHI_BASE_TD
