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

#endif // PHIQ_PASSES_TD
