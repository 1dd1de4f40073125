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

/// The weight as fp32, whatever it is stored as.
LogicalResult readFloats(WeightOp op, std::vector<float> &out) {
  auto type = op.getType();
  out.resize(size_t(type.getNumElements()));
  if (isa<ParamAttr>(op.getValue())) {
    auto tensor = resolveParam(op);
    if (!tensor)
      return op.emitOpError() << llvm::toString(tensor.takeError());
    params::convertToF32((*tensor)->dtype, (*tensor)->data.data(), out.data(),
                         int64_t(out.size()));
    return success();
  }
  auto dense = dyn_cast<DenseElementsAttr>(op.getValue());
  if (!dense)
    return op.emitOpError("only #phi.param and dense<> weights can be "
                          "quantized");
  size_t i = 0;
  for (APFloat v : dense.getValues<APFloat>()) {
    bool lost;
    v.convert(APFloat::IEEEsingle(), APFloat::rmNearestTiesToEven, &lost);
    out[i++] = v.convertToFloat();
  }
  return success();
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
    if (output.empty())
      return model.emitError("phiq-quantize-weights needs output=FILE to "
                             "write the packed weights to");
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
    if (failedAny)
      return failure();
    if (failed(writeStore(model, jobs)))
      return failure();
    rewrite(model, jobs);
    return success();
  }

  /// Streams every job's blocks into the output safetensors file.
  LogicalResult writeStore(ModelOp model, MutableArrayRef<Job> jobs) {
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
      std::vector<float> floats;
      std::vector<uint8_t> blocks;
      for (Job &job : jobs) {
        if (failed(readFloats(job.op, floats)))
          return discard(model.emitError()
                         << "cannot read tensor '" << job.name << "'");
        int64_t cols = job.shape.back();
        int64_t rows = int64_t(floats.size()) / cols;
        blocks.resize(size_t(job.bytes));
        if (llvm::Error e = quant::quantize(job.format, floats, rows, cols,
                                            blocks))
          return discard(job.op.emitError()
                         << "cannot quantize '" << job.name << "' to "
                         << quant::formatInfo(job.format).name << ": "
                         << llvm::toString(std::move(e)));
        os.write(reinterpret_cast<const char *>(blocks.data()), blocks.size());
        ++numQuantized;
        packedBytes += job.bytes;
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
    return success();
  }

  /// Points every quantized weight at its packed bytes.
  void rewrite(ModelOp model, MutableArrayRef<Job> jobs) {
    OpBuilder b(model.getContext());
    SmallString<256> path(output);
    llvm::sys::fs::make_absolute(path);
    NamedAttrList stores(model.getStores());
    stores.set(storeName, b.getStringAttr(path));
    model.setStoresAttr(stores.getDictionary(model.getContext()));
    auto bytesType = [&](int64_t n) {
      return RankedTensorType::get({n}, b.getIntegerType(8, false));
    };
    for (Job &job : jobs) {
      b.setInsertionPoint(job.op);
      auto blocks = ::mlir::phiq_ir::BlocksType::get(
          model.getContext(), job.shape,
          ::mlir::phiq_ir::SchemeAttr::get(model.getContext(), job.format));
      auto param = ParamAttr::get(b.getStringAttr(storeName),
                                  b.getStringAttr(job.name),
                                  bytesType(job.bytes));
      auto packed = ::mlir::phiq_ir::PackedWeightOp::create(b, job.op.getLoc(),
                                                         blocks, param);
      auto dequantized = ::mlir::phiq_ir::DequantizeOp::create(
          b, job.op.getLoc(), blocks.getLogicalType(), packed.getResult());
      job.op.getResult().replaceAllUsesWith(dequantized.getResult());
      job.op.erase();
    }
  }
};

} // namespace
