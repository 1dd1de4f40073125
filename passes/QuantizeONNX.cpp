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
#include "passes/MixedPrecision.h"
#include "passes/PackedWeights.h"
#include "passes/Passes.h"
#include "passes/SingleModel.h"

#include "dialects/Phi/PhiOps.h"
#include "dialects/PhiQ/PhiQOps.h"
#include "phiq/Quant/ActivationQuant.h"
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
    options.smoothAlpha = smoothAlpha;
    options.activationAbsMax = &activationAbsMax;
    options.gptq.refits = gptqRefits;
    options.gptqImportance = gptqImportance;
    return ::phiq::applyCalibratedPacking(model, jobs, options, output,
                                          "--phiq-quantize-onnx", floats);
  }

  /// Puts a phiq.quantize_activation in front of every linear and lm_head
  /// whose weight is QDQ8_CHANNEL: dynamic, or static with the uint8 scale
  /// and zero point of the calibrated range [-m, m].
  LogicalResult quantizeActivations(ModelOp model) {
    bool missing = false;
    model.walk([&](Operation *op) {
      if (!isa<LinearOp, LmHeadOp>(op))
        return;
      auto dequantize =
          op->getOperand(1).getDefiningOp<mlir::phiq_ir::DequantizeOp>();
      if (!dequantize || dequantize.getInput()
                                 .getType()
                                 .getScheme()
                                 .getBlockFormat() !=
                             quant::BlockFormat::QDQ8_CHANNEL)
        return;
      OpBuilder builder(op);
      Value input = op->getOperand(0);
      FloatAttr scale;
      IntegerAttr zeroPoint;
      if (activations == "static") {
        auto deferred = dequantize.getInput()
                            .getDefiningOp<mlir::phiq_ir::QuantizeOp>();
        Operation *weight =
            deferred ? deferred.getInput().getDefiningOp() : nullptr;
        auto range = activationAbsMax.find(weight);
        if (range == activationAbsMax.end()) {
          op->emitError() << "no calibrated input range for this linear "
                             "(its weight has no statistics in the "
                             "calibration store)";
          missing = true;
          return;
        }
        quant::ActivationQuantParams params =
            quant::rangeQuantParamsU8(-range->second, range->second);
        scale = builder.getF32FloatAttr(params.scale);
        zeroPoint = builder.getI64IntegerAttr(params.zeroPoint);
      }
      auto quantized = builder.create<mlir::phiq_ir::QuantizeActivationOp>(
          op->getLoc(), input.getType(), input,
          builder.getStringAttr(activations), scale, zeroPoint);
      op->setOperand(0, quantized.getResult());
      ++numActivations;
    });
    return failure(missing);
  }

  /// algorithm=smoothquant's static input ranges, by weight op.
  llvm::DenseMap<Operation *, float> activationAbsMax;


  /// target-bpw / report: formats chosen (and errors reported) by
  /// measurement; see MixedPrecision.h. The default candidates are int4
  /// and int8 at the block size, symmetric or not and with the scale type
  /// of the options.
  LogicalResult applyMixedPrecision(ModelOp model,
                                    MutableArrayRef<::phiq::PackJob> jobs,
                                    quant::BlockFormat format) {
    ::phiq::MixedPrecisionOptions options;
    options.targetBpw = targetBpw;
    options.reportDir = report;
    if (options.targetBpw == 0.0 && options.reportDir.empty())
      return success();
    if (qdq)
      return model.emitError() << "target-bpw and report take MatMulNBits "
                                  "formats, not qdq=true";
    std::vector<std::string> names(mixedFormats.begin(), mixedFormats.end());
    if (failed(::phiq::parseFormats(model, names, "mixed-formats",
                                    options.candidates)))
      return failure();
    if (options.candidates.empty())
      for (int b : {4, 8})
        if (auto f = quant::matMulNBitsFormat(b, blockSize, symmetric,
                                              scales == "f16"))
          options.candidates.push_back(*f);
    options.reference = {format};
    if (auto int4 = quant::matMulNBitsFormat(4, blockSize, symmetric,
                                             scales == "f16"))
      options.reference = {*int4};
    options.algorithm = algorithm;
    options.sensitivity = sensitivity;
    options.calibration = calibration;
    options.importance = ::phiq::importanceFileFor(model, imatrix);
    options.gptq.damp = gptqDamp;
    options.gptq.actOrder = gptqActOrder;
    options.gptq.block = gptqBlock;
    options.passName = "--phiq-quantize-onnx";
    return ::phiq::applyMixedPrecision(model, jobs, options);
  }

  LogicalResult quantizeModel(ModelOp model) {
    if (scales != "f32" && scales != "f16")
      return model.emitError() << "scales must be f32 or f16, got '" << scales
                               << "'";
    if (activations != "none" && activations != "dynamic" &&
        activations != "static")
      return model.emitError()
             << "activations must be none, dynamic or static, got '"
             << activations << "'";
    if (activations == "static" && algorithm != "smoothquant")
      return model.emitError()
             << "activations=static takes its ranges from SmoothQuant's "
                "calibration: it needs algorithm=smoothquant";
    if (activations != "none" && !qdq)
      return model.emitError()
             << "activations=" << activations
             << " quantizes the inputs of int8 per-channel weights: it needs "
                "qdq=true";
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

    if (failed(applyMixedPrecision(model, jobs, *format)))
      return failure();
    std::vector<::phiq::FloatTensorJob> floats;
    if (failed(applyAlgorithm(model, jobs, floats)))
      return failure();
    std::vector<mlir::phiq_ir::QuantizeOp> quantized =
        ::phiq::insertQuantizeOps(jobs);
    numQuantized += quantized.size();
    for (const ::phiq::PackJob &job : jobs)
      packedBytes += job.bytes;
    if (activations != "none" && failed(quantizeActivations(model)))
      return failure();
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
