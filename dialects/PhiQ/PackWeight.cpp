//===- PackWeight.cpp - Carry out a deferred phiq.quantize ------*- C++ -*-===//
#include "dialects/PhiQ/PackWeight.h"

#include "dialects/Phi/PhiParams.h"
#include "phiq/Calibration/Importance.h"

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

/// The per-column importance the op names (nmat x cols values; empty when
/// it names none).
static llvm::Expected<std::vector<float>> importanceOf(QuantizeOp op,
                                                       int64_t cols,
                                                       int64_t nmat) {
  std::optional<StringRef> key = op.getImportance();
  if (!key)
    return std::vector<float>();
  auto model = op->getParentOfType<phi::ModelOp>();
  auto file = model ? model->getAttrOfType<StringAttr>("phiq.importance_file")
                    : StringAttr();
  if (!file)
    return llvm::createStringError(
        "its importance '" + *key +
        "' needs the model's phiq.importance_file attribute");
  auto table = ::phiq::calib::getOrOpenImportanceTable(file.getValue());
  if (!table)
    return table.takeError();
  auto values = (*table)->lookup(*key, cols, nmat);
  if (!values)
    return values.takeError();
  if (!*values)
    return llvm::createStringError("the importance file " + file.getValue() +
                                   " has no entry '" + *key + "'");
  return std::move(**values);
}

/// quantizeRows, one matrix at a time when each has its own importance
/// (the experts of a stacked tensor).
static llvm::Error quantizeWithImportance(quant::BlockFormat format,
                                          int64_t rows, int64_t cols,
                                          quant::RowLoader load,
                                          MutableArrayRef<uint8_t> out,
                                          ArrayRef<float> importance,
                                          quant::QuantizationError *error) {
  if (importance.empty())
    return quant::quantizeRows(format, rows, cols, load, out, nullptr, error);
  const int64_t nmat = int64_t(importance.size()) / cols;
  const int64_t matRows = rows / nmat;
  const size_t matBytes = out.size() / size_t(nmat);
  for (int64_t m = 0; m < nmat; ++m) {
    auto loadSlice = [&](int64_t first, int64_t count, float *dst) {
      load(m * matRows + first, count, dst);
    };
    quant::QuantizationError part;
    if (llvm::Error e = quant::quantizeRows(
            format, matRows, cols, loadSlice,
            out.slice(size_t(m) * matBytes, matBytes),
            importance.data() + m * cols, error ? &part : nullptr))
      return e;
    if (error) {
      error->squaredError += part.squaredError;
      error->squaredNorm += part.squaredNorm;
    }
  }
  return llvm::Error::success();
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
  // A stacked expert tensor [E, rows, cols] has one importance per expert.
  const int64_t nmat = type.getShape().size() == 3 ? type.getShape()[0] : 1;
  auto importance = importanceOf(op, cols, nmat);
  if (!importance)
    return fail(llvm::toString(importance.takeError()));

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
    llvm::Error packed = quantizeWithImportance(format, rows, cols, load, out,
                                                *importance, error);
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
  if (llvm::Error packed = quantizeWithImportance(format, rows, cols, load,
                                                  out, *importance, error))
    return fail(llvm::toString(std::move(packed)));
  return llvm::Error::success();
}

/// QDQ8_CHANNEL planar: each row's {scale; codes} laid out as the packed
/// format and decoded by it, so both forms give the same floats.
static llvm::Error decodePlanarQDQ(PackedWeightOp op,
                                   std::vector<float> &out) {
  BlocksType type = op.getType();
  auto codes = phi::resolveParam(op.getBytes(), op);
  if (!codes)
    return codes.takeError();
  auto scales = phi::resolveParam(op.getScalesAttr(), op);
  if (!scales)
    return scales.takeError();
  const int64_t rows = type.getNumRows(), cols = type.getRowLength();
  std::vector<uint8_t> packed(size_t(rows * (4 + cols)));
  for (int64_t r = 0; r < rows; ++r) {
    std::memcpy(packed.data() + r * (4 + cols), (*scales)->data.data() + 4 * r,
                4);
    std::memcpy(packed.data() + r * (4 + cols) + 4,
                (*codes)->data.data() + r * cols, size_t(cols));
  }
  out.resize(size_t(rows * cols));
  ::phiq::quant::dequantize(::phiq::quant::BlockFormat::QDQ8_CHANNEL, packed,
                            rows, cols, out);
  return llvm::Error::success();
}

llvm::Error mlir::phiq_ir::decodePlanarWeight(PackedWeightOp op,
                                              std::vector<float> &out) {
  BlocksType type = op.getType();
  if (op.isPlanar() && type.getScheme().getBlockFormat() ==
                           ::phiq::quant::BlockFormat::QDQ8_CHANNEL)
    return decodePlanarQDQ(op, out);
  auto layout =
      ::phiq::quant::matMulNBitsLayout(type.getScheme().getBlockFormat());
  if (!layout || !op.isPlanar())
    return llvm::createStringError("not a planar MatMulNBits or QDQ8_CHANNEL "
                                   "weight");
  auto codes = phi::resolveParam(op.getBytes(), op);
  if (!codes)
    return codes.takeError();
  auto scales = phi::resolveParam(op.getScalesAttr(), op);
  if (!scales)
    return scales.takeError();
  llvm::ArrayRef<uint8_t> zeroPoints;
  if (op.getZeroPointsAttr()) {
    auto zps = phi::resolveParam(op.getZeroPointsAttr(), op);
    if (!zps)
      return zps.takeError();
    zeroPoints = (*zps)->data;
  }
  out.resize(size_t(type.getNumRows() * type.getRowLength()));
  ::phiq::quant::dequantizeMatMulNBitsPlanar(
      *layout, (*codes)->data, (*scales)->data, zeroPoints, type.getNumRows(),
      type.getRowLength(), out);
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
