//===- PackedWeights.h - Shared steps of the quantization passes -*- C++ -*-=//
//
// Both quantization passes (--phiq-quantize-weights for GGUF's formats,
// --phiq-quantize-onnx for ONNX Runtime's) end the same way: each chosen
// weight gets a deferred phiq.quantize and a phiq.dequantize back, and with
// `output=` the blocks are packed, tensor by tensor, into a safetensors
// store that phiq.packed_weight ops then read.
//
//===----------------------------------------------------------------------===//
#ifndef PHIQ_PASSES_PACKEDWEIGHTS_H
#define PHIQ_PASSES_PACKEDWEIGHTS_H

#include "dialects/Phi/PhiOps.h"
#include "dialects/PhiQ/PhiQOps.h"
#include "phiq/Quant/BlockFormat.h"

#include "llvm/ADT/SmallVector.h"

#include <functional>
#include <string>
#include <vector>

namespace phiq {

/// One weight a pass stores in blocks.
struct PackJob {
  mlir::phi::WeightOp op;
  /// Its key in the packed store.
  std::string name;
  quant::BlockFormat format;
  llvm::SmallVector<int64_t> shape;
  int64_t bytes = 0;
  /// The uses that read the blocks; empty: every use.
  llvm::SmallVector<mlir::OpOperand *> uses;
  /// Packs the blocks instead of the format's round-to-nearest (the
  /// calibrated algorithms, CalibratedPacking.h); null: packWeight.
  std::function<llvm::Error(llvm::MutableArrayRef<uint8_t>)> pack;
};

/// A float tensor a pass rewrites (AWQ's norm weights): written as f32 into
/// the packed store under `name`, and `op` then reads it from there.
struct FloatTensorJob {
  mlir::phi::WeightOp op;
  std::string name;
  std::vector<float> values;
};

/// The weight's name in its store, or a synthetic one for inline weights.
std::string packJobName(mlir::phi::WeightOp op, unsigned index);

/// Gives every job's weight a phiq.quantize to its blocks and a
/// phiq.dequantize back, which takes over the job's uses.
std::vector<mlir::phiq_ir::QuantizeOp>
insertQuantizeOps(llvm::MutableArrayRef<PackJob> jobs);

/// The statistics file the quantization passes weight their error with:
/// `option` when given, else the model's phiq.calibration_stats (left by
/// --phiq-calibrate), else none ("").
std::string importanceFileFor(mlir::phi::ModelOp model, llvm::StringRef option);

/// Makes every job's phiq.quantize weight its error by the per-column
/// importance of the statistics file `path` (any format of
/// phiq/Calibration/Importance.h): records the file in the model's
/// phiq.importance_file attribute and each weight's entry in its op's
/// `importance`. Errors for an entry whose shape disagrees with the weight
/// and for entries that name no weight of the model (statistics of another
/// model); a quantized weight without an entry is a warning (the token
/// embedding, which no activation multiplies, is expected to have none).
mlir::LogicalResult
attachImportance(mlir::phi::ModelOp model, llvm::StringRef path,
                 llvm::ArrayRef<PackJob> jobs,
                 llvm::MutableArrayRef<mlir::phiq_ir::QuantizeOp> quantized);

/// Packs every phiq.quantize into the safetensors file `output` (through a
/// temporary file), registers it as the model's store `storeName`, and
/// replaces each phiq.quantize by a phiq.packed_weight of its bytes; the
/// `floats` are stored after the blocks and their weights re-pointed.
mlir::LogicalResult
materializePackedWeights(mlir::phi::ModelOp model,
                         llvm::MutableArrayRef<mlir::phiq_ir::QuantizeOp> quantized,
                         llvm::ArrayRef<PackJob> jobs, llvm::StringRef output,
                         llvm::StringRef storeName,
                         llvm::ArrayRef<FloatTensorJob> floats = {});

} // namespace phiq

#endif // PHIQ_PASSES_PACKEDWEIGHTS_H
