//===- Weights.cpp - Reading phi/phiq weights for the ONNX writer -*- C++ -*-=//
//
// GGUF's Q4_0 block is {fp16 d; u8 qs[16]} with element j in the low nibble
// of qs[j] and element j+16 in its high nibble, w = d * (q - 8). Q8_0 is
// {fp16 d; i8 qs[32]}, w = d * q. MatMulNBits (bits 4 or 8, block 32, no
// zero_points input) computes w = scale * (q - 2^(bits-1)) with the codes of
// a block packed in element order, low nibble first (confirmed against ONNX
// Runtime, shared/validators/README.md). So Q4_0 maps by reordering nibbles
// and Q8_0 by adding 128 to each code: the weights are bit-identical.
// PhiQ's own MatMulNBits blocks ({scale; zero point; codes}, BlockFormat.h)
// already hold MatMulNBits' codes in its order: they are copied as they are,
// and the per-block zero points packed two to a byte for 4 bits.
//
//===----------------------------------------------------------------------===//
#include "Weights.h"

#include "dialects/Phi/PhiOps.h"
#include "dialects/Phi/PhiParams.h"
#include "dialects/PhiQ/PackWeight.h"
#include "dialects/PhiQ/PhiQOps.h"
#include "phiq/Quant/Fp16.h"

#include "mlir/IR/BuiltinAttributes.h"

#include <cstring>

using namespace mlir;
using namespace phiq::onnx;
namespace quant = ::phiq::quant;
using PackedWeightOp = mlir::phiq_ir::PackedWeightOp;
using QuantizeOp = mlir::phiq_ir::QuantizeOp;

Operation *phiq::onnx::weightDataOp(Value weight) {
  if (auto dq = weight.getDefiningOp<mlir::phiq_ir::DequantizeOp>())
    return dq.getInput().getDefiningOp();
  return weight.getDefiningOp();
}

std::string phiq::onnx::weightName(Operation *op) {
  if (auto w = dyn_cast<phi::WeightOp>(op))
    if (auto p = dyn_cast<phi::ParamAttr>(w.getValue()))
      return p.getKey().str();
  if (auto p = dyn_cast<PackedWeightOp>(op))
    return p.getBytes().getKey().str();
  if (auto q = dyn_cast<QuantizeOp>(op)) {
    StringRef name = mlir::phiq_ir::quantizedWeightName(q);
    if (!name.empty())
      return name.str();
  }
  return "inline weight";
}

ArrayRef<int64_t> phiq::onnx::weightShape(Operation *op) {
  if (auto packed = dyn_cast<PackedWeightOp>(op))
    return packed.getType().getShape();
  if (auto q = dyn_cast<QuantizeOp>(op))
    return q.getType().getShape();
  return cast<phi::WeightOp>(op).getType().getShape();
}

std::optional<quant::BlockFormat> phiq::onnx::packedFormat(Operation *op) {
  if (auto packed = dyn_cast<PackedWeightOp>(op))
    return packed.getType().getScheme().getBlockFormat();
  if (auto q = dyn_cast<QuantizeOp>(op))
    return q.getType().getScheme().getBlockFormat();
  return std::nullopt;
}

llvm::Expected<ArrayRef<uint8_t>>
phiq::onnx::packedBytes(Operation *op, std::vector<uint8_t> &storage) {
  if (auto packed = dyn_cast<PackedWeightOp>(op)) {
    auto tensor = phi::resolveParam(packed.getBytes(), packed);
    if (!tensor)
      return tensor.takeError();
    return ArrayRef<uint8_t>((*tensor)->data);
  }
  auto quantize = cast<QuantizeOp>(op);
  storage.resize(size_t(quantize.getType().getTotalBytes()));
  if (llvm::Error e = mlir::phiq_ir::packWeight(quantize, storage))
    return std::move(e);
  return ArrayRef<uint8_t>(storage);
}

llvm::Expected<std::vector<float>>
phiq::onnx::readWeightAsFloats(Operation *op) {
  ArrayRef<int64_t> shape = weightShape(op);
  int64_t count = 1;
  for (int64_t d : shape)
    count *= d;
  std::vector<float> floats(static_cast<size_t>(count));
  if (auto planar = dyn_cast<PackedWeightOp>(op); planar && planar.isPlanar()) {
    if (llvm::Error e = mlir::phiq_ir::decodePlanarWeight(planar, floats))
      return std::move(e);
    return floats;
  }
  if (isa<PackedWeightOp, QuantizeOp>(op)) {
    std::vector<uint8_t> storage;
    auto bytes = packedBytes(op, storage);
    if (!bytes)
      return bytes.takeError();
    int64_t cols = shape.back();
    quant::BlockFormat format = *packedFormat(op);
    auto rowBytes = quant::rowBytes(format, cols);
    if (!rowBytes)
      return rowBytes.takeError();
    if (int64_t(bytes->size()) != count / cols * *rowBytes)
      return llvm::createStringError("packed weight '" + weightName(op) +
                                     "' has the wrong number of bytes");
    quant::dequantize(format, *bytes, count / cols, cols, floats);
    return floats;
  }
  auto weight = cast<phi::WeightOp>(op);
  if (isa<phi::ParamAttr>(weight.getValue())) {
    auto tensor = phi::resolveParam(weight);
    if (!tensor)
      return tensor.takeError();
    ::phiq::params::convertToF32((*tensor)->dtype, (*tensor)->data.data(),
                                 floats.data(), count);
    return floats;
  }
  auto dense = dyn_cast<DenseElementsAttr>(weight.getValue());
  if (!dense)
    return llvm::createStringError("weight '" + weightName(op) +
                                   "' is neither a #phi.param nor dense<>");
  size_t i = 0;
  for (APFloat v : dense.getValues<APFloat>()) {
    bool lost;
    v.convert(APFloat::IEEEsingle(), APFloat::rmNearestTiesToEven, &lost);
    floats[i++] = v.convertToFloat();
  }
  return floats;
}

bool phiq::onnx::mapsOntoMatMulNBits(quant::BlockFormat format) {
  return format == quant::BlockFormat::Q4_0 ||
         format == quant::BlockFormat::Q8_0 ||
         quant::matMulNBitsLayout(format).has_value();
}

std::optional<NBitsShape> phiq::onnx::nbitsShape(Operation *op) {
  std::optional<quant::BlockFormat> format = packedFormat(op);
  if (!format || !mapsOntoMatMulNBits(*format))
    return std::nullopt;
  ArrayRef<int64_t> shape = weightShape(op);
  NBitsShape out;
  out.n = shape.front();
  out.k = shape.back();
  if (auto layout = quant::matMulNBitsLayout(*format)) {
    out.bits = layout->bits;
    out.blockSize = layout->blockSize;
    out.hasZeroPoints = !layout->symmetric;
  } else {
    out.bits = *format == quant::BlockFormat::Q4_0 ? 4 : 8;
    out.blockSize = 32;
  }
  return out;
}

llvm::Expected<NBitsWeight> phiq::onnx::repackForMatMulNBits(Operation *op) {
  std::optional<NBitsShape> shape = nbitsShape(op);
  if (!shape || weightShape(op).size() != 2)
    return llvm::createStringError("not a MatMulNBits matrix");
  quant::BlockFormat format = *packedFormat(op);
  NBitsWeight out;
  out.shape = *shape;
  if (auto planar = dyn_cast<PackedWeightOp>(op); planar && planar.isPlanar()) {
    // Already MatMulNBits' layout (an imported ONNX file): copied as is.
    auto read = [&](phi::ParamAttr p) -> llvm::Expected<ArrayRef<uint8_t>> {
      auto tensor = phi::resolveParam(p, op);
      if (!tensor)
        return tensor.takeError();
      return ArrayRef<uint8_t>((*tensor)->data);
    };
    auto codes = read(planar.getBytes());
    auto scales = read(planar.getScalesAttr());
    if (!codes || !scales)
      return codes ? scales.takeError() : codes.takeError();
    out.codes.assign(codes->begin(), codes->end());
    const int64_t blocks = shape->n * shape->blocksPerRow();
    out.scales.resize(size_t(blocks));
    for (int64_t b = 0; b < blocks; ++b) {
      if (quant::matMulNBitsLayout(format)->fp16Scales) {
        uint16_t h;
        std::memcpy(&h, scales->data() + 2 * b, 2);
        out.scales[size_t(b)] = quant::fp16BitsToFp32(h);
      } else {
        std::memcpy(&out.scales[size_t(b)], scales->data() + 4 * b, 4);
      }
    }
    if (planar.getZeroPointsAttr()) {
      auto zps = read(planar.getZeroPointsAttr());
      if (!zps)
        return zps.takeError();
      out.zeroPoints.assign(zps->begin(), zps->end());
    }
    return out;
  }
  std::vector<uint8_t> storage;
  auto bytes = packedBytes(op, storage);
  if (!bytes)
    return bytes.takeError();
  const int64_t n = shape->n, blocksPerRow = shape->blocksPerRow();
  const int64_t blockBytes = quant::formatInfo(format).blockBytes;
  const int64_t codeBytes = shape->blockSize * shape->bits / 8;
  if (shape->k % shape->blockSize != 0 ||
      int64_t(bytes->size()) != n * blocksPerRow * blockBytes)
    return llvm::createStringError("packed weight '" + weightName(op) +
                                   "' has the wrong number of bytes");
  out.codes.resize(size_t(n * blocksPerRow * codeBytes));
  out.scales.resize(size_t(n * blocksPerRow));
  if (shape->hasZeroPoints)
    out.zeroPoints.assign(size_t(n * shape->zeroPointRowBytes()), 0);
  std::optional<quant::MatMulNBitsLayout> layout =
      quant::matMulNBitsLayout(format);
  for (int64_t b = 0; b < n * blocksPerRow; ++b) {
    const uint8_t *block = bytes->data() + b * blockBytes;
    uint8_t *dst = out.codes.data() + b * codeBytes;
    if (layout) {
      // {scale; zero point if asymmetric; codes in MatMulNBits' order}.
      if (layout->fp16Scales) {
        uint16_t h;
        std::memcpy(&h, block, 2);
        out.scales[size_t(b)] = quant::fp16BitsToFp32(h);
      } else {
        std::memcpy(&out.scales[size_t(b)], block, 4);
      }
      std::memcpy(dst, block + layout->scaleBytes() + layout->zeroPointBytes(),
                  size_t(codeBytes));
      if (shape->hasZeroPoints) {
        const uint8_t zp = block[layout->scaleBytes()];
        const int64_t row = b / blocksPerRow, j = b % blocksPerRow;
        uint8_t *zpRow = out.zeroPoints.data() + row * shape->zeroPointRowBytes();
        if (shape->bits == 8)
          zpRow[j] = zp;
        else
          zpRow[j / 2] |= uint8_t(zp << (4 * (j % 2)));
      }
      continue;
    }
    uint16_t d;
    std::memcpy(&d, block, 2);
    out.scales[size_t(b)] = quant::fp16BitsToFp32(d);
    const uint8_t *qs = block + 2;
    if (shape->bits == 4) {
      uint8_t codes[32];
      for (int j = 0; j < 16; ++j) {
        codes[j] = qs[j] & 0x0f;
        codes[j + 16] = qs[j] >> 4;
      }
      for (int i = 0; i < 16; ++i)
        dst[i] = uint8_t(codes[2 * i] | (codes[2 * i + 1] << 4));
    } else {
      for (int j = 0; j < 32; ++j)
        dst[j] = uint8_t(int(int8_t(qs[j])) + 128);
    }
  }
  return out;
}

llvm::Expected<QDQChannelWeight>
phiq::onnx::splitQDQChannel(Operation *op) {
  if (packedFormat(op) != quant::BlockFormat::QDQ8_CHANNEL)
    return llvm::createStringError("not a QDQ8_CHANNEL weight");
  if (auto planar = dyn_cast<PackedWeightOp>(op); planar && planar.isPlanar()) {
    // Already split (an imported ONNX file): copied as is.
    auto codes = phi::resolveParam(planar.getBytes(), op);
    if (!codes)
      return codes.takeError();
    auto scales = phi::resolveParam(planar.getScalesAttr(), op);
    if (!scales)
      return scales.takeError();
    QDQChannelWeight out;
    out.codes.assign((*codes)->data.begin(), (*codes)->data.end());
    out.scales.resize((*scales)->data.size() / 4);
    std::memcpy(out.scales.data(), (*scales)->data.data(),
                (*scales)->data.size());
    return out;
  }
  std::vector<uint8_t> storage;
  auto bytes = packedBytes(op, storage);
  if (!bytes)
    return bytes.takeError();
  ArrayRef<int64_t> shape = weightShape(op);
  const int64_t cols = shape.back();
  const int64_t rows = int64_t(bytes->size()) / (4 + cols);
  QDQChannelWeight out;
  out.codes.resize(size_t(rows * cols));
  out.scales.resize(size_t(rows));
  // Each row is {f32 scale; cols int8 codes}.
  for (int64_t r = 0; r < rows; ++r) {
    const uint8_t *row = bytes->data() + r * (4 + cols);
    std::memcpy(&out.scales[size_t(r)], row, 4);
    std::memcpy(out.codes.data() + r * cols, row + 4, size_t(cols));
  }
  return out;
}
