//===- QuantizeWeights.cpp - Weights into GGUF block formats ----*- C++ -*-===//
//
// The pass behind `phi-quantize` and `--phiq-quantize-weights`: decide each
// matrix's format with llama-quantize's rules (lib/Quant/Recipe.cpp), then
// stream the tensors one at a time through the block quantizer into a new
// safetensors store and point the IR at it. Memory stays at one tensor's
// floats and blocks, however large the model.
//
//===----------------------------------------------------------------------===//
#include "passes/Passes.h"
#include "passes/SingleModel.h"
#include "passes/CalibratedPacking.h"
#include "passes/MixedPrecision.h"
#include "passes/PackedWeights.h"

#include "dialects/Phi/PhiOps.h"
#include "dialects/Phi/PhiParams.h"
#include "dialects/PhiQ/PhiQOps.h"
#include "phiq/Params/Safetensors.h"
#include "phiq/Quant/BlockFormat.h"
#include "phiq/Quant/Recipe.h"
#include "phiq/Target/GGUF/TensorNames.h"

#include "mlir/IR/Builders.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/raw_ostream.h"

namespace phiq {
#define GEN_PASS_DEF_QUANTIZEWEIGHTS
#include "passes/Passes.h.inc"
} // namespace phiq

#define DEBUG_TYPE "phiq-quantize-weights"

using namespace mlir;
using namespace mlir::phi;
namespace quant = ::phiq::quant;
namespace params = ::phiq::params;

namespace {

using Job = ::phiq::PackJob;

/// Is this weight a matrix that some op multiplies or looks up?
bool isMatrixWeight(WeightOp op) {
  if (op.getType().getRank() < 2)
    return false;
  return llvm::any_of(op->getUsers(), [](Operation *user) {
    return isa<LinearOp, LmHeadOp, EmbeddingOp, MoeExpertsOp>(user);
  });
}

struct QuantizeWeights
    : ::phiq::impl::QuantizeWeightsBase<QuantizeWeights> {
  using Base::Base;

  void runOnOperation() override {
    mlir::FailureOr<ModelOp> model =
        ::phiq::getSingleModel(getOperation(), "phiq-quantize-weights");
    if (failed(model) || failed(quantizeModel(*model)))
      signalPassFailure();
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
                                          "--phiq-quantize-weights", floats);
  }

  /// target-bpw / report: formats chosen (and errors reported) by
  /// measurement; see MixedPrecision.h.
  LogicalResult applyMixedPrecision(ModelOp model,
                                    MutableArrayRef<::phiq::PackJob> jobs) {
    ::phiq::MixedPrecisionOptions options;
    options.targetBpw = targetBpw;
    options.reportDir = report;
    if (options.targetBpw == 0.0 && options.reportDir.empty())
      return success();
    std::vector<std::string> names(mixedFormats.begin(), mixedFormats.end());
    if (names.empty())
      names = {"Q2_K", "Q3_K", "Q4_K", "IQ4_NL", "Q5_K", "Q6_K", "Q8_0"};
    if (failed(::phiq::parseFormats(model, names, "mixed-formats",
                                    options.candidates)))
      return failure();
    options.reference = {quant::BlockFormat::Q4_K, quant::BlockFormat::IQ4_NL,
                         quant::BlockFormat::Q4_0};
    options.algorithm = algorithm;
    options.sensitivity = sensitivity;
    options.calibration = calibration;
    options.importance = ::phiq::importanceFileFor(model, imatrix);
    options.gptq.damp = gptqDamp;
    options.gptq.actOrder = gptqActOrder;
    options.gptq.block = gptqBlock;
    options.passName = "--phiq-quantize-weights";
    return ::phiq::applyMixedPrecision(model, jobs, options);
  }

  LogicalResult quantizeModel(ModelOp model) {
    std::optional<quant::FileType> fileType = quant::parseFileType(type);
    if (!fileType)
      return model.emitError() << "unknown quantization type '" << type
                               << "'; expected one of F32, F16, BF16, Q8_0, "
                                  "Q4_0, Q4_1, Q5_0, Q5_1, Q2_K, Q3_K_S, "
                                  "Q3_K_M, Q3_K_L, Q4_K_S, Q4_K_M, Q5_K_S, "
                                  "Q5_K_M, Q6_K, IQ4_NL";
    std::vector<quant::Override> overrides;
    for (const std::string &text : tensorTypes) {
      auto parsed = quant::parseOverride(text);
      if (!parsed)
        return model.emitError() << llvm::toString(parsed.takeError());
      overrides.push_back(*parsed);
    }

    quant::ModelShape shape;
    shape.numLayers = int(model.getConfig().getNumLayers());
    shape.tiedEmbeddings = model.getConfig().getTieWordEmbeddings().getValue();
    model.walk([&](Operation *op) {
      if (auto attn = dyn_cast<AttentionOp>(op))
        shape.gqa = int(attn.getNumHeads() / attn.getNumKvHeads());
      if (auto experts = dyn_cast<MoeExpertsOp>(op))
        shape.numExperts = int(experts.getNumExperts());
    });
    quant::RecipeState recipe(*fileType, pure, shape, overrides);

    // Decide every format first: errors come before any byte is written.
    std::vector<Job> jobs;
    unsigned index = 0;
    bool failedAny = false;
    model.walk([&](WeightOp op) {
      std::string name = ::phiq::packJobName(op, index++);
      if (!isMatrixWeight(op))
        return;
      auto ggufName = ::phiq::gguf::ggufTensorName(name);
      quant::TensorRole role;
      role.checkpointName = name;
      role.ggufName = ggufName ? ggufName->name : name;
      role.category =
          ggufName ? ggufName->category : quant::TensorCategory::Other;
      role.layer = ggufName ? ggufName->layer : -1;
      role.rowLength = op.getType().getShape().back();
      std::optional<quant::Decision> decision = recipe.decide(role);
      if (!decision)
        return;
      if (decision->fellBackFrom) {
        StringRef from = quant::formatInfo(*decision->fellBackFrom).name;
        StringRef to = quant::formatInfo(decision->format).name;
        int64_t block =
            quant::formatInfo(*decision->fellBackFrom).blockElements;
        if (noFallback) {
          op.emitError() << "tensor '" << name << "': rows of "
                         << role.rowLength << " elements do not fit " << from
                         << " (blocks of " << block
                         << "); choose another type for it with "
                            "tensor-type, or allow the fallback to "
                         << to;
          failedAny = true;
          return;
        }
        op.emitWarning() << "tensor '" << name << "': rows of "
                         << role.rowLength << " elements do not fit " << from
                         << " (blocks of " << block << "); using " << to;
        ++numFallbacks;
      }
      Job job{op, name, decision->format,
              SmallVector<int64_t>(op.getType().getShape()), 0, {}};
      int64_t rows = op.getType().getNumElements() / role.rowLength;
      job.bytes = rows * llvm::cantFail(
                             quant::rowBytes(job.format, role.rowLength));
      jobs.push_back(std::move(job));
    });
    for (const std::string &pattern : recipe.unmatchedOverrides()) {
      model.emitError() << "tensor type override '" << pattern
                        << "' matches no quantizable tensor of the model "
                           "(patterns are searched in GGUF names such as "
                           "'blk.0.attn_qkv.weight' and checkpoint names "
                           "such as 'model.layers.0.self_attn.qkv_proj."
                           "weight')";
      failedAny = true;
    }
    if (failedAny || failed(applyMixedPrecision(model, jobs)))
      return failure();
    std::vector<::phiq::FloatTensorJob> floats;
    if (failed(applyAlgorithm(model, jobs, floats)))
      return failure();
    std::vector<mlir::phiq_ir::QuantizeOp> quantized =
        ::phiq::insertQuantizeOps(jobs);
    // Writers record the file type (GGUF's general.file_type).
    model->setAttr("phiq.file_type",
                   StringAttr::get(model.getContext(), quant::fileTypeName(*fileType)));
    numQuantized += quantized.size();
    for (const Job &job : jobs)
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
