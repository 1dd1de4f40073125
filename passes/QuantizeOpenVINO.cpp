//===- QuantizeOpenVINO.cpp - Weights into NNCF's INT4 groups ---*- C++ -*-===//
//
// --phiq-quantize-openvino: one NNCF group format for every linear weight
// (and, on request, the lm_head / embedding uses), decided per use because
// a tied table may be read as groups by the lm_head and as floats by the
// embedding. The packing itself is shared with --phiq-quantize-weights
// (PackedWeights.h); the rounding is NNCF's (lib/Quant/NNCF.cpp).
//
//===----------------------------------------------------------------------===//
#include "passes/PackedWeights.h"
#include "passes/Passes.h"
#include "passes/SingleModel.h"

#include "dialects/Phi/PhiOps.h"
#include "phiq/Quant/BlockFormat.h"

#include "llvm/ADT/STLExtras.h"
#include "llvm/Support/FormatVariadic.h"

namespace phiq {
#define GEN_PASS_DEF_QUANTIZEOPENVINO
#include "passes/Passes.h.inc"
} // namespace phiq

#define DEBUG_TYPE "phiq-quantize-openvino"

using namespace mlir;
using namespace mlir::phi;
namespace quant = ::phiq::quant;

namespace {

struct QuantizeOpenVINO : ::phiq::impl::QuantizeOpenVINOBase<QuantizeOpenVINO> {
  using Base::Base;

  void runOnOperation() override {
    mlir::FailureOr<ModelOp> model =
        ::phiq::getSingleModel(getOperation(), "phiq-quantize-openvino");
    if (failed(model) || failed(quantizeModel(*model)))
      signalPassFailure();
  }

  /// Does this use read the weight as a matrix the options quantize?
  bool quantizesUse(OpOperand &use) {
    Operation *user = use.getOwner();
    if (isa<LinearOp>(user))
      return true;
    if (isa<MoeExpertsOp>(user))
      return quantizeExperts && use.getOperandNumber() >= 3;
    if (isa<LmHeadOp>(user))
      return quantizeLmHead || int8EmbeddingAndHead;
    if (isa<EmbeddingOp>(user))
      return quantizeEmbedding || int8EmbeddingAndHead;
    return false;
  }

  LogicalResult quantizeModel(ModelOp model) {
    if (mode != "int4_asym" && mode != "int4_sym" && mode != "int8_asym")
      return model.emitError()
             << "mode must be int4_asym, int4_sym or int8_asym, got '" << mode
             << "'";
    if (mode == "int8_asym" && groupSize != -1)
      return model.emitError() << "int8_asym is per channel, as in NNCF: "
                                  "pass group-size=-1";
    if (ratio != 1.0)
      return model.emitError()
             << "ratio " << llvm::formatv("{0}", double(ratio)).str()
             << " is not supported: only ratio=1.0 (every weight in 4 bits) "
                "is reproducible without NNCF's data-dependent layer ranking";
    std::optional<quant::BlockFormat> format =
        quant::nncfFormat(mode == "int8_asym" ? 8 : 4, groupSize,
                          mode == "int4_sym");
    if (!format)
      return model.emitError() << "no NNCF format has group-size = "
                               << int64_t(groupSize) << "; use 64 or 128";
    if (int8EmbeddingAndHead && mode == "int8_asym")
      return model.emitError() << "int8-embedding-and-head mixes INT8 into a "
                                  "4-bit mode; mode int8_asym is INT8 already";
    // NNCF's backup precision for the first and last layers.
    auto backup = [&](ArrayRef<OpOperand *> uses) {
      return int8EmbeddingAndHead &&
             llvm::all_of(uses, [](OpOperand *use) {
               return isa<LmHeadOp, EmbeddingOp>(use->getOwner());
             });
    };

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
      const quant::BlockFormat chosen =
          backup(uses) ? quant::BlockFormat::NNCF_U8_CHANNEL : *format;
      if (groupSize > 0 && rowLength % groupSize != 0 &&
          chosen != quant::BlockFormat::NNCF_U8_CHANNEL) {
        op.emitWarning() << "tensor '" << name << "': rows of " << rowLength
                         << " elements are not a whole number of "
                         << int64_t(groupSize) << "-element groups; kept float";
        ++numKept;
        return;
      }
      ::phiq::PackJob job{op, name, chosen,
                          SmallVector<int64_t>(op.getType().getShape()), 0,
                          {}};
      if (!all)
        job.uses = std::move(uses);
      job.bytes = op.getType().getNumElements() / rowLength *
                  llvm::cantFail(quant::rowBytes(chosen, rowLength));
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
