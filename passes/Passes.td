//===- Passes.td - PhiQ passes ------------------------------*- tablegen -*-===//
//
// Every PhiQ pass, declared once; flags read `phiq-<verb>-<noun>`.
//
//===----------------------------------------------------------------------===//
#ifndef PHIQ_PASSES_TD
#define PHIQ_PASSES_TD

include "mlir/Pass/PassBase.td"

def PrintModelSummary : Pass<"phiq-print-model-summary", "mlir::ModuleOp"> {
  let summary = "Print the structure of each phi.model";
  let description = [{
    Prints, for every `phi.model`, the architecture, layer count, attention
    shape (heads, kv heads, head dim), rotary settings, MLP width, whether
    embeddings are tied, and the parameters by element type (count and
    bytes). Reads only the IR: no weight bytes are touched. The IR is left
    unchanged.
  }];
  let options = [
    Option<"asJson", "json", "bool", /*default=*/"false",
           "print one JSON object per model instead of text">,
  ];
  let dependentDialects = ["mlir::phi::PhiDialect"];
}

def EmulateLlamaCpp : Pass<"phiq-emulate-llamacpp", "mlir::ModuleOp"> {
  let summary = "Rewrite a model to compute what llama.cpp computes for it";
  let description = [{
    llama.cpp runs PhiMoE through its phi3 graph, which differs from the
    checkpoint's math in two places: every LayerNorm becomes an RMS norm
    plus the LayerNorm's bias, and the experts are picked by softmax over
    all router logits, top-k, with the k weights renormalized to sum to
    one (instead of sparsemixer). This pass makes exactly those two
    rewrites, so that the reference executor predicts what a GGUF file will
    do in llama.cpp. Dense Phi-3 models are left unchanged.

    On phimoe-tiny the two semantics are far apart: perplexity 6.290 with
    the checkpoint's math, 7.467 after this pass (llama.cpp's own F32 GGUF
    measures 7.4674).
  }];
  let dependentDialects = ["mlir::phi::PhiDialect"];
}

#endif // PHIQ_PASSES_TD
