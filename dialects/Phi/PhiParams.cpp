//===- PhiParams.cpp - Resolving #phi.param to mapped bytes -----*- C++ -*-===//
//
// The process-wide cache of open parameter stores and the lookup from a
// phi.weight to the bytes of its tensor.
//
//===----------------------------------------------------------------------===//
#include "dialects/Phi/PhiParams.h"

#include "phiq/Params/StoreRegistry.h"

#include "llvm/ADT/StringExtras.h"
#include "llvm/ADT/StringMap.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/raw_ostream.h"

#include <mutex>

using namespace mlir;
using namespace mlir::phi;
namespace params = phiq::params;

llvm::Expected<const params::ParamStore *>
mlir::phi::getOrOpenStore(StringRef path) {
  static std::mutex mutex;
  static llvm::StringMap<std::unique_ptr<params::ParamStore>> stores;
  llvm::SmallString<256> canonical;
  if (llvm::sys::fs::real_path(path, canonical))
    canonical = path;
  std::lock_guard<std::mutex> lock(mutex);
  auto it = stores.find(canonical);
  if (it != stores.end())
    return it->second.get();
  auto store = params::openParamStore(canonical);
  if (!store)
    return store.takeError();
  const params::ParamStore *result = store->get();
  stores[canonical] = std::move(*store);
  return result;
}

Type mlir::phi::dtypeToElementType(MLIRContext *ctx, params::DType dtype) {
  Builder b(ctx);
  switch (dtype) {
  case params::DType::F64: return b.getF64Type();
  case params::DType::F32: return b.getF32Type();
  case params::DType::F16: return b.getF16Type();
  case params::DType::BF16: return b.getBF16Type();
  case params::DType::F8_E4M3: return b.getType<Float8E4M3FNType>();
  case params::DType::F8_E5M2: return b.getType<Float8E5M2Type>();
  // Signless for the signed types (MLIR's convention), unsigned for U*.
  case params::DType::I64: return b.getIntegerType(64);
  case params::DType::I32: return b.getIntegerType(32);
  case params::DType::I16: return b.getIntegerType(16);
  case params::DType::I8: return b.getIntegerType(8);
  case params::DType::U64: return b.getIntegerType(64, /*isSigned=*/false);
  case params::DType::U32: return b.getIntegerType(32, /*isSigned=*/false);
  case params::DType::U16: return b.getIntegerType(16, /*isSigned=*/false);
  case params::DType::U8: return b.getIntegerType(8, /*isSigned=*/false);
  case params::DType::Bool: return b.getI1Type();
  }
  return nullptr;
}

llvm::Expected<const params::TensorRef *> mlir::phi::resolveParam(WeightOp op) {
  return resolveParam(llvm::cast<ParamAttr>(op.getValue()), op);
}

llvm::Expected<const params::TensorRef *>
mlir::phi::resolveParam(ParamAttr param, Operation *op) {
  auto model = op->getParentOfType<ModelOp>();
  StringRef scope = param.getScope().getValue();
  std::optional<StringRef> path =
      model ? model.getStorePath(scope) : std::nullopt;
  if (!path)
    return llvm::createStringError(
        "parameter store '" + scope + "' is not listed by the enclosing "
        "phi.model");
  auto store = getOrOpenStore(*path);
  if (!store)
    return store.takeError();
  StringRef key = param.getKey().getValue();
  const params::TensorRef *tensor = (*store)->lookup(key);
  if (!tensor)
    return llvm::createStringError("tensor '" + key + "' not found in " +
                                   *path);
  auto type = llvm::cast<RankedTensorType>(param.getType());
  if (ArrayRef<int64_t>(tensor->shape) != type.getShape() ||
      dtypeToElementType(op->getContext(), tensor->dtype) !=
          type.getElementType()) {
    std::string expected;
    llvm::raw_string_ostream os(expected);
    os << type;
    return llvm::createStringError(
        "tensor '" + key + "' in " + tensor->file + " is " +
        params::dtypeName(tensor->dtype) + " of shape [" +
        llvm::join(llvm::map_range(tensor->shape,
                                   [](int64_t d) { return std::to_string(d); }),
                   ", ") +
        "] but the IR expects " + expected);
  }
  return tensor;
}
