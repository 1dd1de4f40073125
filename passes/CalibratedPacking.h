//===- CalibratedPacking.h - GPTQ and AWQ in the quantization passes -*- C++ -*-//
//
// `algorithm=gptq|awq|awq+gptq` in --phiq-quantize-weights and
// --phiq-quantize-onnx. The calibration side store (written by
// --phiq-calibrate, keyed by checkpoint weight name: `<key>.hessian`
// [cols, cols] f32 = X^T X, `<key>.in_sumsq` [cols], `<key>.in_absmax`,
// `<key>.count`) is opened once, every job is checked against it before a
// byte is written, and the jobs get packers that run GPTQ and/or apply
// AWQ's scales on the whole tensor. Both need a whole tensor at once, so
// neither can be deferred to a consumer that packs row by row: the pass
// packs into `output=` and requires it.
//
// AWQ folds each linear's input scale s into the op producing its input,
// so the graph keeps its ops: an rms_norm's weight is divided by s (the
// new weight goes to the output store as f32), a GLU's input linear has its
// `up` rows divided by s, and an attention's input linear its `v` rows
// when every query head has its own key/value head (no GQA sharing; else
// the linear is not scaled, as AWQ does). A linear whose input comes from
// anything else keeps s = 1. `smoothquant` folds SmoothQuant's scales
// (from `<key>.in_absmax`) the same way and reports each linear's static
// input range.
//
//===----------------------------------------------------------------------===//
#ifndef PHIQ_PASSES_CALIBRATEDPACKING_H
#define PHIQ_PASSES_CALIBRATEDPACKING_H

#include "passes/PackedWeights.h"

#include "phiq/Quant/GPTQ.h"

#include "llvm/ADT/DenseMap.h"
#include "llvm/ADT/StringRef.h"

namespace phiq {

struct CalibratedOptions {
  /// rtn, gptq, awq, awq+gptq or smoothquant.
  std::string algorithm;
  std::string calibration;
  quant::GPTQOptions gptq;
  /// SmoothQuant's migration strength alpha.
  double smoothAlpha = 0.5;
  /// smoothquant: receives, per linear weight, the largest |x_c| / s_c of
  /// its (smoothed) input on the calibration data.
  llvm::DenseMap<mlir::Operation *, float> *activationAbsMax = nullptr;
  /// gptq-importance: diagonal or schur.
  std::string gptqImportance = "diagonal";
};

/// Does every use read the weight as a matrix multiplied by activations that
/// calibration saw (linears and the lm_head)? MoE experts are stacked and
/// the side store has no per-expert statistics; embeddings are lookups.
bool readByLinears(mlir::phi::WeightOp op);

/// For anything but rtn: checks the options, opens the calibration store,
/// checks every job that reads its weight as a linear's matrix against it,
/// searches AWQ's scales, and installs the packers; the rewritten norm
/// weights are returned in `floats` for materializePackedWeights.
/// Embeddings and MoE experts keep round-to-nearest.
mlir::LogicalResult
applyCalibratedPacking(mlir::phi::ModelOp model,
                       llvm::MutableArrayRef<PackJob> jobs,
                       const CalibratedOptions &options,
                       llvm::StringRef output, llvm::StringRef passName,
                       std::vector<FloatTensorJob> &floats);

} // namespace phiq

#endif // PHIQ_PASSES_CALIBRATEDPACKING_H
