//===- PhiQAttrs.cpp - phiq dialect attributes ------------------*- C++ -*-===//
//
// #phiq.scheme and the facts it states about each GGUF block format. The
// byte sizes come from lib/Quant (the one place that packs the blocks); the
// descriptive fields (bits, scale and min encodings) are stated here, next
// to the verifier that holds every scheme to them.
//
//===----------------------------------------------------------------------===//
#include "dialects/PhiQ/PhiQAttrs.h"
#include "dialects/PhiQ/PhiQDialect.h"

#include "mlir/IR/Builders.h"
#include "llvm/ADT/TypeSwitch.h"

using namespace mlir;
using namespace mlir::phiq_ir;
using ::phiq::quant::BlockFormat;

#define GET_ATTRDEF_CLASSES
#include "dialects/PhiQ/PhiQAttrs.cpp.inc"

void PhiQDialect::registerAttributes() {
  addAttributes<
#define GET_ATTRDEF_LIST
#include "dialects/PhiQ/PhiQAttrs.cpp.inc"
      >();
}

namespace {

/// What a format is, in the words of #phiq.scheme.
struct SchemeFacts {
  int64_t bits, blockSize, superBlockSize;
  bool symmetric;
  const char *scale, *min, *grid;
  const char *zeroPoint = "none";
};

SchemeFacts factsOf(BlockFormat format) {
  if (auto mnb = ::phiq::quant::matMulNBitsLayout(format))
    return {mnb->bits,
            mnb->blockSize,
            0,
            mnb->symmetric,
            mnb->fp16Scales ? "f16" : "f32",
            "none",
            "linear",
            mnb->symmetric ? "implicit" : mnb->bits == 4 ? "u4" : "u8"};
  // MLX: w = scale * q + bias, scale and bias in the model's float type.
  if (auto mlx = ::phiq::quant::mlxAffineLayout(format)) {
    const char *type = ::phiq::quant::mlxScaleTypeName(mlx->scaleType).data();
    return {mlx->bits, mlx->groupSize, 0, false, type, type, "linear"};
  }
  switch (format) {
  case BlockFormat::F32: return {32, 1, 0, true, "none", "none", "float"};
  case BlockFormat::F16: return {16, 1, 0, true, "none", "none", "float"};
  case BlockFormat::BF16: return {16, 1, 0, true, "none", "none", "float"};
  // Legacy: one fp16 scale (and min) per 32 elements.
  case BlockFormat::Q8_0: return {8, 32, 0, true, "f16", "none", "linear"};
  case BlockFormat::Q4_0: return {4, 32, 0, true, "f16", "none", "linear"};
  case BlockFormat::Q4_1: return {4, 32, 0, false, "f16", "f16", "linear"};
  case BlockFormat::Q5_0: return {5, 32, 0, true, "f16", "none", "linear"};
  case BlockFormat::Q5_1: return {5, 32, 0, false, "f16", "f16", "linear"};
  // K-quants: 256-element super-blocks, quantized per-block scales.
  case BlockFormat::Q2_K: return {2, 16, 256, false, "u4*f16", "u4*f16", "linear"};
  case BlockFormat::Q3_K: return {3, 16, 256, true, "i6*f16", "none", "linear"};
  case BlockFormat::Q4_K: return {4, 32, 256, false, "u6*f16", "u6*f16", "linear"};
  case BlockFormat::Q5_K: return {5, 32, 256, false, "u6*f16", "u6*f16", "linear"};
  case BlockFormat::Q6_K: return {6, 16, 256, true, "i8*f16", "none", "linear"};
  case BlockFormat::IQ4_NL: return {4, 32, 0, true, "f16", "none", "iq4_nl"};
  // NNCF's INT8_ASYM: one f16 scale and u8 zero point per row (block -1).
  case BlockFormat::NNCF_U8_CHANNEL:
    return {8, -1, 0, false, "f16", "none", "linear", "u8"};
  // ONNX QDQ per channel: one f32 scale per row (block -1), zero point 0.
  case BlockFormat::QDQ8_CHANNEL:
    return {8, -1, 0, true, "f32", "none", "linear"};
  default: break;
  }
  llvm_unreachable("unknown block format");
}

} // namespace

SchemeAttr SchemeAttr::get(MLIRContext *context, BlockFormat format) {
  SchemeFacts f = factsOf(format);
  return get(context, ::phiq::quant::formatInfo(format).name, f.bits,
             f.blockSize, f.superBlockSize, f.symmetric, f.scale, f.min,
             f.grid, f.zeroPoint);
}

LogicalResult SchemeAttr::verify(function_ref<InFlightDiagnostic()> emitError,
                                 StringRef formatName, int64_t bits,
                                 int64_t blockSize, int64_t superBlockSize,
                                 bool symmetric, StringRef scale, StringRef min,
                                 StringRef grid, StringRef zeroPoint) {
  std::optional<BlockFormat> format =
      ::phiq::quant::parseBlockFormat(formatName);
  if (!format)
    return emitError() << "unknown block format '" << formatName
                       << "'; expected one of F32, F16, BF16, Q8_0, Q4_0, "
                          "Q4_1, Q5_0, Q5_1, Q2_K, Q3_K, Q4_K, Q5_K, Q6_K, "
                          "IQ4_NL, a MatMulNBits format "
                          "MNB<4|8>_G<block>_<SYM|ASYM>[_F16], an NNCF format "
                          "NNCF_<U4|I4>_G<64|128> or NNCF_U8_CHANNEL, an MLX "
                          "format MLX<bits>_G<group>_<F32|F16|BF16>, or "
                          "QDQ8_CHANNEL";
  SchemeFacts f = factsOf(*format);
  auto mismatch = [&](StringRef field, auto expected, auto got) {
    return emitError() << formatName << " has " << field << " " << expected
                       << ", not " << got;
  };
  if (bits != f.bits)
    return mismatch("bits =", f.bits, bits);
  if (blockSize != f.blockSize)
    return mismatch("block_size =", f.blockSize, blockSize);
  if (superBlockSize != f.superBlockSize)
    return mismatch("super_block_size =", f.superBlockSize, superBlockSize);
  if (symmetric != f.symmetric)
    return mismatch("symmetric =", f.symmetric ? "true" : "false",
                    symmetric ? "true" : "false");
  if (scale != f.scale)
    return mismatch("scale encoding", f.scale, scale);
  if (min != f.min)
    return mismatch("min encoding", f.min, min);
  if (grid != f.grid)
    return mismatch("grid", f.grid, grid);
  if (zeroPoint != f.zeroPoint)
    return mismatch("zero point encoding", f.zeroPoint, zeroPoint);
  return success();
}

BlockFormat SchemeAttr::getBlockFormat() const {
  return *::phiq::quant::parseBlockFormat(getFormat());
}

int64_t SchemeAttr::getStorageBlockElements() const {
  return ::phiq::quant::formatInfo(getBlockFormat()).blockElements;
}
