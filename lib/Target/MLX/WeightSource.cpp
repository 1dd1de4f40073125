//===- WeightSource.cpp - The bytes behind a phi/phiq weight ----*- C++ -*-===//
//
// See WeightSource.h. Deferred weights are packed with the same code the
// executor and the GGUF writer use (PackWeight.h), so every consumer sees the
// same bytes.
//
//===----------------------------------------------------------------------===//
#include "WeightSource.h"

#include "dialects/Phi/PhiOps.h"
#include "dialects/Phi/PhiParams.h"
#include "dialects/PhiQ/PackWeight.h"
#include "dialects/PhiQ/PhiQOps.h"

#include "mlir/IR/BuiltinAttributes.h"

using namespace mlir;
namespace quant = ::phiq::quant;
namespace params = ::phiq::params;
using PackedWeightOp = mlir::phiq_ir::PackedWeightOp;
using QuantizeOp = mlir::phiq_ir::QuantizeOp;

std::string phiq::mlx::weightName(Operation *op) {
  if (auto w = dyn_cast<phi::WeightOp>(op))
    if (auto p = dyn_cast<phi::ParamAttr>(w.getValue()))
      return p.getKey().str();
  if (auto p = dyn_cast<PackedWeightOp>(op))
    return p.getBytes().getKey().str();
  if (auto q = dyn_cast<QuantizeOp>(op))
    return mlir::phiq_ir::quantizedWeightName(q).str();
  return "";
}

ArrayRef<int64_t> phiq::mlx::weightShape(Operation *op) {
  if (auto packed = dyn_cast<PackedWeightOp>(op))
    return packed.getType().getShape();
  if (auto q = dyn_cast<QuantizeOp>(op))
    return q.getType().getShape();
  return cast<phi::WeightOp>(op).getType().getShape();
}

std::optional<quant::BlockFormat> phiq::mlx::blockFormat(Operation *op) {
  if (auto packed = dyn_cast<PackedWeightOp>(op))
    return packed.getType().getScheme().getBlockFormat();
  if (auto q = dyn_cast<QuantizeOp>(op))
    return q.getType().getScheme().getBlockFormat();
  return std::nullopt;
}

params::DType phiq::mlx::floatDType(Operation *op) {
  Type type = cast<phi::WeightOp>(op).getType().getElementType();
  if (type.isF16())
    return params::DType::F16;
  if (type.isBF16())
    return params::DType::BF16;
  return params::DType::F32;
}

llvm::Expected<ArrayRef<uint8_t>>
phiq::mlx::readBlocks(Operation *op, std::vector<uint8_t> &storage) {
  ArrayRef<int64_t> shape = weightShape(op);
  int64_t count = 1;
  for (int64_t d : shape)
    count *= d;
  quant::BlockFormat format = *blockFormat(op);
  auto rowBytes = quant::rowBytes(format, shape.back());
  if (!rowBytes)
    return rowBytes.takeError();
  const int64_t bytes = count / shape.back() * *rowBytes;
  if (auto packed = dyn_cast<PackedWeightOp>(op)) {
    auto tensor = phi::resolveParam(packed.getBytes(), packed);
    if (!tensor)
      return tensor.takeError();
    if (int64_t((*tensor)->data.size()) != bytes)
      return llvm::createStringError(
          "packed weight '" + weightName(op) + "' has " +
          std::to_string((*tensor)->data.size()) + " bytes, its type needs " +
          std::to_string(bytes));
    return ArrayRef<uint8_t>((*tensor)->data);
  }
  auto quantize = cast<QuantizeOp>(op);
  storage.resize(size_t(bytes));
  if (llvm::Error e = mlir::phiq_ir::packWeight(quantize, storage))
    return std::move(e);
  return ArrayRef<uint8_t>(storage);
}

llvm::Expected<std::vector<float>> phiq::mlx::readAsFloats(Operation *op) {
  ArrayRef<int64_t> shape = weightShape(op);
  int64_t count = 1;
  for (int64_t d : shape)
    count *= d;
  std::vector<float> floats(static_cast<size_t>(count));
  if (blockFormat(op)) {
    std::vector<uint8_t> storage;
    auto bytes = readBlocks(op, storage);
    if (!bytes)
      return bytes.takeError();
    quant::dequantize(*blockFormat(op), *bytes, count / shape.back(),
                      shape.back(), floats);
    return floats;
  }
  auto weight = cast<phi::WeightOp>(op);
  if (isa<phi::ParamAttr>(weight.getValue())) {
    auto tensor = phi::resolveParam(weight);
    if (!tensor)
      return tensor.takeError();
    params::convertToF32((*tensor)->dtype, (*tensor)->data.data(),
                         floats.data(), count);
    return floats;
  }
  auto dense = dyn_cast<DenseElementsAttr>(weight.getValue());
  if (!dense)
    return llvm::createStringError("weight is neither a #phi.param nor "
                                   "dense<>");
  size_t i = 0;
  for (APFloat v : dense.getValues<APFloat>()) {
    bool lost;
    v.convert(APFloat::IEEEsingle(), APFloat::rmNearestTiesToEven, &lost);
    floats[i++] = v.convertToFloat();
  }
  return floats;
}
