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

#include "dialects/Phi/PhiOps.h"
#include "dialects/Phi/PhiParams.h"
#include "dialects/PhiQ/PackWeight.h"
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

/// One weight the pass will quantize.
struct Job {
  WeightOp op;
  std::string name;
  quant::BlockFormat format;
  SmallVector<int64_t> shape;
  int64_t bytes = 0;
};

/// The weight's name in its store, or a synthetic one for inline weights.
std::string weightName(WeightOp op, unsigned index) {
  if (auto param = dyn_cast<ParamAttr>(op.getValue()))
    return param.getKey().str();
  return "inline." + std::to_string(index);
}

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
    auto models = llvm::to_vector(getOperation().getOps<ModelOp>());
    if (models.size() != 1) {
      getOperation().emitError()
          << "phiq-quantize-weights expects exactly one phi.model, found "
          << models.size();
      return signalPassFailure();
    }
    if (failed(quantizeModel(models.front())))
      signalPassFailure();
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
      std::string name = weightName(op, index++);
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
              SmallVector<int64_t>(op.getType().getShape()), 0};
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
    if (failedAny)
      return failure();
    std::vector<mlir::phiq_ir::QuantizeOp> quantized = insertQuantize(jobs);
    // Writers record the file type (GGUF's general.file_type).
    model->setAttr("phiq.file_type",
                   StringAttr::get(model.getContext(), quant::fileTypeName(*fileType)));
    numQuantized += quantized.size();
    for (const Job &job : jobs)
      packedBytes += job.bytes;
    if (output.empty())
      return success();
    return materialize(model, quantized, jobs);
  }

  /// Gives every job's weight a phiq.quantize to its blocks and a
  /// phiq.dequantize back, which takes over the weight's uses.
  std::vector<mlir::phiq_ir::QuantizeOp> insertQuantize(MutableArrayRef<Job> jobs) {
    std::vector<mlir::phiq_ir::QuantizeOp> result;
    for (Job &job : jobs) {
      OpBuilder b(job.op->getContext());
      b.setInsertionPointAfter(job.op);
      auto blocks = ::mlir::phiq_ir::BlocksType::get(
          b.getContext(), job.shape,
          ::mlir::phiq_ir::SchemeAttr::get(b.getContext(), job.format));
      auto quantize = ::mlir::phiq_ir::QuantizeOp::create(
          b, job.op.getLoc(), blocks, job.op.getResult());
      auto dequantize = ::mlir::phiq_ir::DequantizeOp::create(
          b, job.op.getLoc(), blocks.getLogicalType(), quantize.getResult());
      job.op.getResult().replaceAllUsesExcept(dequantize.getResult(),
                                              quantize);
      result.push_back(quantize);
    }
    return result;
  }

  /// Packs every phiq.quantize into the `output` store and replaces it by a
  /// phiq.packed_weight of those bytes.
  LogicalResult materialize(ModelOp model,
                            MutableArrayRef<mlir::phiq_ir::QuantizeOp> quantized,
                            MutableArrayRef<Job> jobs) {
    std::vector<params::TensorLayout> layouts;
    for (const Job &job : jobs)
      layouts.push_back({job.name, params::DType::U8, {job.bytes}});
    uint64_t dataBytes = 0;
    std::string header = params::buildSafetensorsHeader(
        layouts, {{"format", "phiq-packed-blocks"}}, dataBytes);

    auto temp = llvm::sys::fs::TempFile::create(output + ".tmp-%%%%%%");
    if (!temp)
      return model.emitError() << "cannot create a temporary file next to "
                               << output << ": "
                               << llvm::toString(temp.takeError());
    auto discard = [&](InFlightDiagnostic diag) {
      llvm::consumeError(temp->discard());
      return diag;
    };
    {
      llvm::raw_fd_ostream os(temp->FD, /*shouldClose=*/false);
      os.SetBufferSize(1 << 22);
      os << header;
      std::vector<uint8_t> blocks;
      for (auto [quantize, job] : llvm::zip_equal(quantized, jobs)) {
        blocks.resize(size_t(job.bytes));
        if (llvm::Error e = ::mlir::phiq_ir::packWeight(quantize, blocks))
          return discard(quantize.emitError() << llvm::toString(std::move(e)));
        os.write(reinterpret_cast<const char *>(blocks.data()), blocks.size());
      }
      os.flush();
      if (os.has_error())
        return discard(model.emitError()
                       << "cannot write " << output << ": "
                       << os.error().message());
    }
    if (llvm::Error e = temp->keep(output))
      return model.emitError() << "cannot write " << output << ": "
                               << llvm::toString(std::move(e));

    OpBuilder b(model.getContext());
    SmallString<256> path(output);
    llvm::sys::fs::make_absolute(path);
    NamedAttrList stores(model.getStores());
    stores.set(storeName, b.getStringAttr(path));
    model.setStoresAttr(stores.getDictionary(model.getContext()));
    for (auto [quantize, job] : llvm::zip_equal(quantized, jobs)) {
      b.setInsertionPoint(quantize);
      auto param = ParamAttr::get(
          b.getStringAttr(storeName), b.getStringAttr(job.name),
          RankedTensorType::get({job.bytes}, b.getIntegerType(8, false)));
      auto packed = ::mlir::phiq_ir::PackedWeightOp::create(
          b, quantize.getLoc(), quantize.getType(), param);
      quantize.getResult().replaceAllUsesWith(packed.getResult());
      quantize.erase();
      if (job.op->use_empty())
        job.op.erase();
    }
    return success();
  }
};

} // namespace
