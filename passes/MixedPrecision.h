//===- MixedPrecision.h - Formats chosen by measured sensitivity -*- C++ -*-===//
//
// `target-bpw=X` in --phiq-quantize-weights and --phiq-quantize-onnx, and
// their `report=DIR`. For every linear weight (and the lm_head) and every
// candidate format its rows fit, the weight is quantized as the pass will
// quantize it (round-to-nearest with the importance, or GPTQ) and the cost
// is measured on the calibration statistics: the output error
// trace((W - Q) H (W - Q)^T) / tokens with the Hessian X^T X when the
// store has it, else sum_c E[x_c^2] |W_c - Q_c|^2 with the diagonal (the
// imatrix). A multiple-choice knapsack (lib/Quant/FormatAllocation) then
// gives each tensor the format that minimizes the summed cost with the
// tensor data at most X bits per parameter (every parameter of the model
// counted; tensors outside the choice at their own formats' bytes, float
// tensors at 4 bytes).
//
//===----------------------------------------------------------------------===//
#ifndef PHIQ_PASSES_MIXEDPRECISION_H
#define PHIQ_PASSES_MIXEDPRECISION_H

#include "passes/PackedWeights.h"

#include "phiq/Quant/GPTQ.h"

#include <string>
#include <vector>

namespace phiq {

struct MixedPrecisionOptions {
  /// 0: keep every format (a report only measures).
  double targetBpw = 0.0;
  /// The formats a tensor may get (those its rows fit).
  std::vector<quant::BlockFormat> candidates;
  /// The format whose cost is reported as a tensor's sensitivity (the
  /// first of these its rows fit).
  std::vector<quant::BlockFormat> reference;
  /// What the knapsack minimizes per tensor: "relative", the output error
  /// over the output energy trace(W H W^T) (scale-free across tensor
  /// kinds), or "output", the output error per calibration token. The
  /// output error ranks single tensors' KL divergence better, but its
  /// allocations are measured worse: its scale differs by orders of
  /// magnitude between kinds of tensors (docs/Calibration.md).
  std::string sensitivity = "relative";
  /// rtn or gptq: how each candidate is quantized when measured.
  std::string algorithm = "rtn";
  /// The --phiq-calibrate store (Hessians, when it has them).
  std::string calibration;
  /// The importance the pass quantizes with (imatrix / the model's
  /// statistics), empty: none.
  std::string importance;
  quant::GPTQOptions gptq;
  /// Where the per-tensor report goes (empty: none).
  std::string reportDir;
  std::string passName;
};

/// Parses a comma-free list of format names (the pass's list option).
mlir::LogicalResult parseFormats(mlir::phi::ModelOp model,
                                 llvm::ArrayRef<std::string> names,
                                 llvm::StringRef option,
                                 std::vector<quant::BlockFormat> &formats);

/// Measures, allocates (when targetBpw > 0; the jobs' formats and bytes
/// change) and writes the report (when reportDir is set). A no-op when
/// neither is asked for.
mlir::LogicalResult applyMixedPrecision(mlir::phi::ModelOp model,
                                        llvm::MutableArrayRef<PackJob> jobs,
                                        const MixedPrecisionOptions &options);

} // namespace phiq

#endif // PHIQ_PASSES_MIXEDPRECISION_H
