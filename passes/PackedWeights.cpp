//===- PackedWeights.cpp - Shared steps of the quantization passes -*- C++ -*-//
//
// Inserting deferred phiq.quantize ops and packing them into a safetensors
// store, for --phiq-quantize-weights and --phiq-quantize-onnx alike.
//
//===----------------------------------------------------------------------===//
#include "passes/PackedWeights.h"

#include "dialects/PhiQ/PackWeight.h"
#include "phiq/Calibration/Importance.h"
#include "phiq/Params/Safetensors.h"
#include "phiq/Target/GGUF/TensorNames.h"

#include "mlir/IR/Builders.h"
#include "llvm/ADT/StringSet.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/raw_ostream.h"

using namespace mlir;
using namespace mlir::phi;
namespace params = ::phiq::params;

std::string phiq::packJobName(WeightOp op, unsigned index) {
  if (auto param = dyn_cast<ParamAttr>(op.getValue()))
    return param.getKey().str();
  return "inline." + std::to_string(index);
}

std::vector<mlir::phiq_ir::QuantizeOp>
phiq::insertQuantizeOps(MutableArrayRef<PackJob> jobs) {
  std::vector<mlir::phiq_ir::QuantizeOp> result;
  for (PackJob &job : jobs) {
    OpBuilder b(job.op->getContext());
    b.setInsertionPointAfter(job.op);
    auto blocks = ::mlir::phiq_ir::BlocksType::get(
        b.getContext(), job.shape,
        ::mlir::phiq_ir::SchemeAttr::get(b.getContext(), job.format));
    auto quantize = ::mlir::phiq_ir::QuantizeOp::create(
        b, job.op.getLoc(), blocks, job.op.getResult());
    auto dequantize = ::mlir::phiq_ir::DequantizeOp::create(
        b, job.op.getLoc(), blocks.getLogicalType(), quantize.getResult());
    if (job.uses.empty())
      job.op.getResult().replaceAllUsesExcept(dequantize.getResult(),
                                              quantize);
    else
      for (OpOperand *use : job.uses)
        use->set(dequantize.getResult());
    result.push_back(quantize);
  }
  return result;
}

LogicalResult phiq::materializePackedWeights(
    ModelOp model, MutableArrayRef<mlir::phiq_ir::QuantizeOp> quantized,
    ArrayRef<PackJob> jobs, StringRef output, StringRef storeName,
    ArrayRef<FloatTensorJob> floats) {
  std::vector<params::TensorLayout> layouts;
  for (const PackJob &job : jobs)
    layouts.push_back({job.name, params::DType::U8, {job.bytes}});
  for (const FloatTensorJob &f : floats) {
    WeightOp op = f.op;
    layouts.push_back({f.name, params::DType::F32,
                       SmallVector<int64_t, 4>(op.getType().getShape())});
  }
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
      if (llvm::Error e = job.pack ? job.pack(blocks)
                                   : ::mlir::phiq_ir::packWeight(quantize,
                                                                 blocks))
        return discard(quantize.emitError() << llvm::toString(std::move(e)));
      os.write(reinterpret_cast<const char *>(blocks.data()), blocks.size());
    }
    for (const FloatTensorJob &f : floats)
      os.write(reinterpret_cast<const char *>(f.values.data()),
               f.values.size() * sizeof(float));
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
    Operation *weight = job.op;
    if (weight->use_empty())
      weight->erase();
  }
  for (const FloatTensorJob &f : floats) {
    WeightOp old = f.op;
    b.setInsertionPoint(old);
    auto type = RankedTensorType::get(old.getType().getShape(), b.getF32Type());
    auto param = ParamAttr::get(b.getStringAttr(storeName),
                                b.getStringAttr(f.name), type);
    auto weight = WeightOp::create(b, old.getLoc(), param);
    old.getResult().replaceAllUsesWith(weight.getResult());
    old.erase();
  }
  return success();
}

std::string phiq::importanceFileFor(ModelOp model, StringRef option) {
  if (!option.empty())
    return option.str();
  if (auto stats = model->getAttrOfType<StringAttr>("phiq.calibration_stats"))
    return stats.getValue().str();
  return "";
}

LogicalResult phiq::attachImportance(
    ModelOp model, StringRef path, ArrayRef<PackJob> jobs,
    MutableArrayRef<mlir::phiq_ir::QuantizeOp> quantized) {
  auto table = ::phiq::calib::getOrOpenImportanceTable(path);
  if (!table)
    return model.emitError() << llvm::toString(table.takeError());
  // Every name an entry may use for a weight of this model.
  llvm::StringSet<> known;
  model.walk([&](WeightOp op) {
    if (auto param = dyn_cast<ParamAttr>(op.getValue())) {
      known.insert(param.getKey());
      if (auto name = ::phiq::gguf::ggufTensorName(param.getKey()))
        known.insert(name->name);
    }
  });
  for (const PackJob &job : jobs)
    known.insert(job.name);
  for (const std::string &name : (*table)->names())
    if (!known.contains(name))
      return model.emitError()
             << "importance file " << path << " has statistics for '" << name
             << "', which is no weight of this model (is the file for "
                "another model?)";

  SmallString<256> absolute(path);
  llvm::sys::fs::make_absolute(absolute);
  Builder b(model.getContext());
  model->setAttr("phiq.importance_file", b.getStringAttr(absolute));
  bool failedAny = false;
  for (auto [quantize, job] : llvm::zip_equal(quantized, jobs)) {
    if (quant::formatInfo(job.format).blockElements == 1)
      continue; // float formats have nothing to weight
    const int64_t cols = job.shape.back();
    const int64_t nmat = job.shape.size() == 3 ? job.shape.front() : 1;
    Operation *weight = job.op;
    auto values = (*table)->lookup(job.name, cols, nmat);
    if (!values) {
      weight->emitError() << llvm::toString(values.takeError());
      failedAny = true;
      continue;
    }
    if (!*values) {
      // Is it (through its phiq.quantize / phiq.dequantize) a lookup table?
      bool embedding = false;
      SmallVector<Value> values = {weight->getResult(0)};
      while (!values.empty())
        for (Operation *user : values.pop_back_val().getUsers()) {
          if (isa<EmbeddingOp, mlir::phiq_ir::EmbeddingOp>(user))
            embedding = true;
          else if (isa<mlir::phiq_ir::QuantizeOp, mlir::phiq_ir::DequantizeOp>(
                       user))
            values.push_back(user->getResult(0));
        }
      if (!embedding)
        weight->emitWarning() << "importance file " << path
                             << " has no entry for '" << job.name
                             << "'; quantized without importance";
      continue;
    }
    quantize.setImportanceAttr(b.getStringAttr(job.name));
  }
  return failure(failedAny);
}
