//===- PhiQTypes.td - phiq dialect types --------------------*- tablegen -*-===//
//
// !phiq.blocks: a matrix (or a stack of them) in a packed block format.
//
//===----------------------------------------------------------------------===//
#ifndef PHIQ_TYPES_TD
#define PHIQ_TYPES_TD

include "dialects/PhiQ/PhiQAttrs.td"

def PhiQ_BlocksType : TypeDef<PhiQ_Dialect, "Blocks"> {
  let mnemonic = "blocks";
  let summary = "a weight packed in a block format";
  let description = [{
    `!phiq.blocks<3072x8192, Q4_K>` is a [3072, 8192] weight whose rows are
    stored as Q4_K blocks (8192 / 256 super-blocks of 144 bytes each). A
    stacked MoE weight has three dimensions; the last one is always the
    row length the blocks run along.
  }];
  let parameters = (ins ArrayRefParameter<"int64_t">:$shape,
                        "SchemeAttr":$scheme);
  let hasCustomAssemblyFormat = 1;
  let genVerifyDecl = 1;
  let extraClassDeclaration = [{
    int64_t getRowLength() const { return getShape().back(); }
    int64_t getNumRows() const;
    /// Bytes one row takes.
    int64_t getRowBytes() const;
    int64_t getTotalBytes() const { return getNumRows() * getRowBytes(); }
    /// The float tensor this weight stands for, with element type f32.
    ::mlir::RankedTensorType getLogicalType() const;
  }];
}

#endif // PHIQ_TYPES_TD
