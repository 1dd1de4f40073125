//===- PackWeight.cpp - Carry out a deferred phiq.quantize ------*- C++ -*-===//
#include "dialects/PhiQ/PackWeight.h"

#include "dialects/Phi/PhiParams.h"

#include <cstring>
#include <vector>

using namespace mlir;
using namespace mlir::phiq_ir;
namespace params = ::phiq::params;
namespace quant = ::phiq::quant;

StringRef mlir::phiq_ir::quantizedWeightName(QuantizeOp op) {
  if (auto weight = op.getInput().getDefiningOp<phi::WeightOp>())
    if (auto param = dyn_cast<phi::ParamAttr>(weight.getValue()))
      return param.getKey();
  return "";
}

llvm::Error mlir::phiq_ir::packWeight(QuantizeOp op,
                                      MutableArrayRef<uint8_t> out,
                                      quant::QuantizationError *error) {
  BlocksType type = op.getType();
  const quant::BlockFormat format = type.getScheme().getBlockFormat();
  const int64_t rows = type.getNumRows(), cols = type.getRowLength();
  auto weight = op.getInput().getDefiningOp<phi::WeightOp>();
  if (!weight)
    return llvm::createStringError(
        "phiq.quantize packs weights, but its input is not a phi.weight");
  auto fail = [&](const llvm::Twine &message) {
    std::string name = quantizedWeightName(op).str();
    return llvm::createStringError(
        "cannot pack '" + (name.empty() ? std::string("inline weight") : name) +
        "' as " + quant::formatInfo(format).name + ": " + message);
  };

  if (isa<phi::ParamAttr>(weight.getValue())) {
    auto tensor = phi::resolveParam(weight);
    if (!tensor)
      return fail(llvm::toString(tensor.takeError()));
    const params::TensorRef &source = **tensor;
    if (source.numElements() != rows * cols)
      return fail("the store holds " + llvm::Twine(source.numElements()) +
                  " elements, the blocks need " + llvm::Twine(rows * cols));
    const int64_t rowStride = cols * params::dtypeSize(source.dtype);
    auto load = [&](int64_t first, int64_t count, float *dst) {
      params::convertToF32(source.dtype, source.data.data() + first * rowStride,
                           dst, count * cols);
    };
    llvm::Error packed =
        quant::quantizeRows(format, rows, cols, load, out, nullptr, error);
    params::releasePages(source);
    if (packed)
      return fail(llvm::toString(std::move(packed)));
    return llvm::Error::success();
  }

  auto dense = dyn_cast<DenseElementsAttr>(weight.getValue());
  if (!dense)
    return fail("only #phi.param and dense<> weights can be packed");
  std::vector<float> floats;
  floats.reserve(static_cast<size_t>(rows * cols));
  for (APFloat v : dense.getValues<APFloat>()) {
    bool lost;
    v.convert(APFloat::IEEEsingle(), APFloat::rmNearestTiesToEven, &lost);
    floats.push_back(v.convertToFloat());
  }
  auto load = [&](int64_t first, int64_t count, float *dst) {
    std::memcpy(dst, floats.data() + first * cols,
                sizeof(float) * count * cols);
  };
  if (llvm::Error packed =
          quant::quantizeRows(format, rows, cols, load, out, nullptr, error))
    return fail(llvm::toString(std::move(packed)));
  return llvm::Error::success();
}

llvm::Expected<std::vector<float>>
mlir::phiq_ir::loadWeightFloats(phi::WeightOp weight) {
  std::vector<float> floats(size_t(weight.getType().getNumElements()));
  if (isa<phi::ParamAttr>(weight.getValue())) {
    auto tensor = phi::resolveParam(weight);
    if (!tensor)
      return tensor.takeError();
    const params::TensorRef &source = **tensor;
    if (source.numElements() != int64_t(floats.size()))
      return llvm::createStringError(
          "the store holds " + llvm::Twine(source.numElements()) +
          " elements, the weight's type " + llvm::Twine(floats.size()));
    params::convertToF32(source.dtype, source.data.data(), floats.data(),
                         int64_t(floats.size()));
    return floats;
  }
  auto dense = dyn_cast<DenseElementsAttr>(weight.getValue());
  if (!dense)
    return llvm::createStringError(
        "only #phi.param and dense<> weights can be read");
  size_t i = 0;
  for (APFloat v : dense.getValues<APFloat>()) {
    bool lost;
    v.convert(APFloat::IEEEsingle(), APFloat::rmNearestTiesToEven, &lost);
    floats[i++] = v.convertToFloat();
  }
  return floats;
}
