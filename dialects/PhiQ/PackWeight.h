//===- PackWeight.h - Carry out a deferred phiq.quantize --------*- C++ -*-===//
//
// `phiq.quantize %w` names a float weight and the blocks it is stored in;
// whoever needs the bytes (the GGUF writer, the executor, the
// materialization in --phiq-quantize-weights) packs them with this, straight
// from the mapped checkpoint into the caller's buffer.
//
//===----------------------------------------------------------------------===//
#ifndef PHIQ_DIALECTS_PHIQ_PACKWEIGHT_H
#define PHIQ_DIALECTS_PHIQ_PACKWEIGHT_H

#include "dialects/Phi/PhiOps.h"
#include "dialects/PhiQ/PhiQOps.h"
#include "phiq/Quant/BlockFormat.h"

#include "llvm/ADT/ArrayRef.h"
#include "llvm/Support/Error.h"

#include <vector>

namespace mlir::phiq_ir {

/// Packs the weight `op` quantizes into `out`, which holds exactly the
/// blocks' byte size. The weight is read row by row from its store (any
/// float dtype) or its inline value; afterwards its mapped pages leave the
/// resident set, so a model streams through in the memory of one tensor.
/// With `error`, also measures the error of the packed blocks.
llvm::Error packWeight(QuantizeOp op, llvm::MutableArrayRef<uint8_t> out,
                       ::phiq::quant::QuantizationError *error = nullptr);

/// Decodes a planar `phiq.packed_weight` (MatMulNBits' codes, scales and
/// zero points as separate parameters, or QDQ8_CHANNEL's int8 codes and
/// per-row scales) into `out`, rows x cols floats, reading the mapped
/// tensors in place.
llvm::Error decodePlanarWeight(PackedWeightOp op, std::vector<float> &out);

/// All of the weight's values as f32 (rows x cols, row-major), from its
/// store (any float dtype) or its inline value: for the algorithms that need
/// a whole tensor at once (GPTQ, AWQ).
llvm::Expected<std::vector<float>> loadWeightFloats(phi::WeightOp weight);

/// The checkpoint name of the weight `op` quantizes ("" for inline ones).
llvm::StringRef quantizedWeightName(QuantizeOp op);

} // namespace mlir::phiq_ir

#endif // PHIQ_DIALECTS_PHIQ_PACKWEIGHT_H
