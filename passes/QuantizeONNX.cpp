//===- QuantizeONNX.cpp - Weights into MatMulNBits blocks -------*- C++ -*-===//
//
// --phiq-quantize-onnx: one ONNX Runtime MatMulNBits format (or, with
// qdq=true, per-channel int8 for DequantizeLinear) for every linear
// weight (and, on request, the lm_head / embedding uses), decided per use
// because a tied table may be read as blocks by the lm_head and as floats
// by the embedding. The packing itself is shared with
// --phiq-quantize-weights (PackedWeights.h).
//
//===----------------------------------------------------------------------===//
#include "passes/CalibratedPacking.h"
#include "passes/PackedWeights.h"
#include "passes/Passes.h"
#include "passes/SingleModel.h"

#include "dialects/Phi/PhiOps.h"
#include "phiq/Quant/BlockFormat.h"

namespace phiq {
#define GEN_PASS_DEF_QUANTIZEONNX
#include "passes/Passes.h.inc"
} // namespace phiq

#define DEBUG_TYPE "phiq-quantize-onnx"

using namespace mlir;
using namespace mlir::phi;
namespace quant = ::phiq::quant;

namespace {

struct QuantizeONNX : ::phiq::impl::QuantizeONNXBase<QuantizeONNX> {
  using Base::Base;

  void runOnOperation() override {
    mlir::FailureOr<ModelOp> model =
        ::phiq::getSingleModel(getOperation(), "phiq-quantize-onnx");
    if (failed(model) || failed(quantizeModel(*model)))
      signalPassFailure();
  }

  /// Does this use read the weight as a matrix the options quantize?
  bool quantizesUse(OpOperand &use) {
    Operation *user = use.getOwner();
    if (isa<LinearOp, MoeExpertsOp>(user))
      return true;
    if (isa<LmHeadOp>(user))
      return quantizeLmHead;
    if (isa<EmbeddingOp>(user))
      return quantizeEmbedding;
    return false;
  }

  /// algorithm=gptq|awq|awq+gptq: the packers that replace round-to-nearest.
  LogicalResult applyAlgorithm(ModelOp model,
                               MutableArrayRef<::phiq::PackJob> jobs,
                               std::vector<::phiq::FloatTensorJob> &floats) {
    ::phiq::CalibratedOptions options;
    options.algorithm = algorithm;
    options.calibration = calibration;
    options.gptq.damp = gptqDamp;
    options.gptq.actOrder = gptqActOrder;
    options.gptq.block = gptqBlock;
    options.gptq.refits = gptqRefits;
    options.gptqImportance = gptqImportance;
    return ::phiq::applyCalibratedPacking(model, jobs, options, output,
                                          "--phiq-quantize-onnx", floats);
  }

  LogicalResult quantizeModel(ModelOp model) {
    if (scales != "f32" && scales != "f16")
      return model.emitError() << "scales must be f32 or f16, got '" << scales
                               << "'";
    if (qdq && (bits != 8 || scales != "f32"))
      return model.emitError()
             << "qdq=true is per-channel symmetric int8 with f32 scales: it "
                "needs bits=8 and scales=f32, got bits="
             << int64_t(bits) << " and scales=" << scales;
    // QDQ: one scale per row, so every row length fits.
    const int64_t groupSize = qdq ? 1 : int64_t(blockSize);
    std::optional<quant::BlockFormat> format =
        qdq ? std::optional(quant::BlockFormat::QDQ8_CHANNEL)
            : quant::matMulNBitsFormat(int(bits), blockSize, symmetric,
                                       scales == "f16");
    if (!format)
      return model.emitError()
             << "no MatMulNBits format has bits = " << int64_t(bits)
             << " and block-size = " << int64_t(blockSize)
             << "; 4 bits take blocks of 16, 32, 64 or 128, 8 bits 32, 64 "
                "or 128";

    std::vector<::phiq::PackJob> jobs;
    unsigned index = 0;
    model.walk([&](WeightOp op) {
      std::string name = ::phiq::packJobName(op, index++);
      if (op.getType().getRank() < 2)
        return;
      SmallVector<OpOperand *> uses;
      bool all = true;
      for (OpOperand &use : op.getResult().getUses()) {
        if (quantizesUse(use))
          uses.push_back(&use);
        else
          all = false;
      }
      if (uses.empty())
        return;
      const int64_t rowLength = op.getType().getShape().back();
      if (rowLength % groupSize != 0) {
        op.emitWarning() << "tensor '" << name << "': rows of " << rowLength
                         << " elements are not a whole number of "
                         << int64_t(blockSize) << "-element blocks; kept float";
        ++numKept;
        return;
      }
      ::phiq::PackJob job{op, name, *format,
                          SmallVector<int64_t>(op.getType().getShape()), 0,
                          {}};
      if (!all)
        job.uses = std::move(uses);
      job.bytes = op.getType().getNumElements() / rowLength *
                  llvm::cantFail(quant::rowBytes(*format, rowLength));
      jobs.push_back(std::move(job));
    });

    std::vector<::phiq::FloatTensorJob> floats;
    if (failed(applyAlgorithm(model, jobs, floats)))
      return failure();
    std::vector<mlir::phiq_ir::QuantizeOp> quantized =
        ::phiq::insertQuantizeOps(jobs);
    numQuantized += quantized.size();
    for (const ::phiq::PackJob &job : jobs)
      packedBytes += job.bytes;
    std::string importance = ::phiq::importanceFileFor(model, imatrix);
    if (!importance.empty() &&
        failed(::phiq::attachImportance(model, importance, jobs, quantized)))
      return failure();
    if (output.empty())
      return success();
    return ::phiq::materializePackedWeights(model, quantized, jobs, output,
                                            storeName, floats);
  }
};

} // namespace
