//===- QuantizeMLX.cpp - Weights into MLX affine groups ---------*- C++ -*-===//
//
// --phiq-quantize-mlx: one Apple MLX affine format for every matrix that
// mlx-lm's own `convert -q` quantizes (each nn.Linear, the SwitchGLU
// experts, the embedding, the lm_head), so the MLX writer can emit the very
// tensors mlx-lm would have written. The packing is shared with the other
// quantization passes (PackedWeights.h).
//
//===----------------------------------------------------------------------===//
#include "passes/PackedWeights.h"
#include "passes/Passes.h"
#include "passes/SingleModel.h"

#include "dialects/Phi/PhiOps.h"
#include "phiq/Quant/BlockFormat.h"

namespace phiq {
#define GEN_PASS_DEF_QUANTIZEMLX
#include "passes/Passes.h.inc"
} // namespace phiq

#define DEBUG_TYPE "phiq-quantize-mlx"

using namespace mlir;
using namespace mlir::phi;
namespace quant = ::phiq::quant;

namespace {

struct QuantizeMLX : ::phiq::impl::QuantizeMLXBase<QuantizeMLX> {
  using Base::Base;

  void runOnOperation() override {
    mlir::FailureOr<ModelOp> model =
        ::phiq::getSingleModel(getOperation(), "phiq-quantize-mlx");
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

  /// The scale type for a weight of element type `type`.
  std::optional<quant::MLXScaleType> scaleTypeFor(Type type) {
    if (scales == "f32")
      return quant::MLXScaleType::F32;
    if (scales == "f16")
      return quant::MLXScaleType::F16;
    if (scales == "bf16")
      return quant::MLXScaleType::BF16;
    if (scales != "auto")
      return std::nullopt;
    if (type.isF16())
      return quant::MLXScaleType::F16;
    if (type.isBF16())
      return quant::MLXScaleType::BF16;
    return quant::MLXScaleType::F32;
  }

  LogicalResult quantizeModel(ModelOp model) {
    if (!scaleTypeFor(Float32Type::get(model.getContext())))
      return model.emitError()
             << "scales must be auto, f32, f16 or bf16, got '" << scales << "'";
    if (!quant::mlxAffineFormat(int(bits), groupSize, quant::MLXScaleType::F32))
      return model.emitError()
             << "no MLX affine format has bits = " << int64_t(bits)
             << " and group-size = " << int64_t(groupSize)
             << "; bits are 2, 3, 4, 5, 6 or 8 and groups 32, 64 or 128";

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
                         << int64_t(groupSize) << "-element groups; kept float";
        ++numKept;
        return;
      }
      quant::BlockFormat format = *quant::mlxAffineFormat(
          int(bits), groupSize, *scaleTypeFor(op.getType().getElementType()));
      ::phiq::PackJob job{op,     name,
                          format, SmallVector<int64_t>(op.getType().getShape()),
                          0,      {}};
      if (!all)
        job.uses = std::move(uses);
      job.bytes = op.getType().getNumElements() / rowLength *
                  llvm::cantFail(quant::rowBytes(format, rowLength));
      jobs.push_back(std::move(job));
    });

    std::vector<mlir::phiq_ir::QuantizeOp> quantized =
        ::phiq::insertQuantizeOps(jobs);
    numQuantized += quantized.size();
    for (const ::phiq::PackJob &job : jobs)
      packedBytes += job.bytes;
    if (output.empty())
      return success();
    return ::phiq::materializePackedWeights(model, quantized, jobs, output,
                                            storeName);
  }
};

} // namespace
