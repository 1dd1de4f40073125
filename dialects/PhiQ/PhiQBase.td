//===- PhiQBase.td - The phiq dialect: quantized weights ----*- tablegen -*-===//
//
// The `phiq` dialect holds what quantization produces: weights packed in a
// named block format, the scheme attribute that describes that format
// exactly, and the ops that consume or unpack packed weights.
//
//===----------------------------------------------------------------------===//
#ifndef PHIQ_BASE_TD
#define PHIQ_BASE_TD

include "mlir/IR/OpBase.td"
include "mlir/IR/AttrTypeBase.td"

def PhiQ_Dialect : Dialect {
  let name = "phiq";
  let cppNamespace = "::mlir::phiq_ir";
  let summary = "quantized weights of Phi models";
  let description = [{
    A quantized weight is a `!phiq.blocks<RxC, FORMAT>` value: R rows of C
    logical elements, each row stored as consecutive blocks of a GGUF block
    format (`Q4_K`, `Q8_0`, ...) byte for byte as llama.cpp lays them out.
    The bytes live in a parameter store (`phiq.packed_weight` references
    them with `#phi.param`), never in the IR.

    Quantization replaces a `phi.weight` with
    `phiq.packed_weight` + `phiq.dequantize`, so every consumer keeps working
    on a float tensor; emitters read the packed bytes straight through the
    dequantize, and backends may use `phiq.linear` / `phiq.embedding`, which
    take the packed weight directly.

    MLIR's `quant` types describe per-tensor, per-axis and sub-channel
    uniform quantization with the scales inside the type. GGUF blocks keep
    their scales (and K-quants their 6-bit sub-block scales and mins) inside
    the packed bytes, so they are a storage format the `quant` types do not
    model; `#phiq.scheme` names them instead.
  }];
  let useDefaultAttributePrinterParser = 1;
  let useDefaultTypePrinterParser = 1;
  let extraClassDeclaration = [{
  private:
    void registerAttributes();
    void registerTypes();
  public:
  }];
}

class PhiQ_Op<string mnemonic, list<Trait> traits = []> :
    Op<PhiQ_Dialect, mnemonic, traits>;

#endif // PHIQ_BASE_TD
