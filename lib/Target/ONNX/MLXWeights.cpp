//===- MLXWeights.cpp - Imported MLX linears as MatMulNBits -----*- C++ -*-===//
//
// See MLXWeights.h. The re-encoding itself is lib/Quant/MLXRetarget.cpp;
// here the weight is read, the exact form chosen or refused, and the
// initializers and node written.
//
//===----------------------------------------------------------------------===//
#include "MLXWeights.h"

#include "Weights.h"

#include "phiq/Quant/BlockFormat.h"
#include "phiq/Quant/Fp16.h"
#include "phiq/Quant/MLXRetarget.h"

#include <cmath>

using namespace phiq::onnx;
namespace quant = ::phiq::quant;
using llvm::Expected;

namespace {

constexpr int32_t kFloat = ::onnx::TensorProto_DataType_FLOAT;
constexpr int32_t kUInt8 = ::onnx::TensorProto_DataType_UINT8;

/// Relative RMS difference of `b` from `a`.
double relativeRmse(llvm::ArrayRef<float> a, llvm::ArrayRef<float> b) {
  double err = 0, norm = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    const double d = double(b[i]) - double(a[i]);
    err += d * d;
    norm += double(a[i]) * double(a[i]);
  }
  return norm > 0 ? std::sqrt(err / norm) : 0.0;
}

/// (q - zp) * scale for every element, with zp and scale as `act` holds
/// them.
std::vector<float> decode(const quant::MLXNBits &w, int64_t rows, int64_t cols,
                          int64_t group, int32_t act) {
  auto asAct = [&](float v) {
    return act == kFloat ? v : quant::roundToFp16(v);
  };
  std::vector<float> out(size_t(rows * cols));
  for (size_t i = 0; i < out.size(); ++i) {
    const uint8_t code = (w.codes[i / 2] >> (4 * (i % 2))) & 15;
    const size_t g = i / size_t(group);
    out[i] = (float(code) - asAct(w.zeroPoints[g])) * asAct(w.scales[g]);
  }
  return out;
}

} // namespace

Expected<std::string> phiq::onnx::emitMLXMatMulNBits(
    GraphBuilder &b, mlir::Operation *data, const std::string &x, int32_t act,
    bool added, const ExportOptions &options) {
  const std::string name = weightName(data);
  const quant::BlockFormat format = *packedFormat(data);
  quant::MLXAffineLayout layout = *quant::mlxAffineLayout(format);
  llvm::ArrayRef<int64_t> shape = weightShape(data);
  const int64_t n = shape[0], k = shape[1], group = layout.groupSize;
  const std::string qweight = name + ".qweight", scales = name + ".scales",
                    zeroPoints = name + ".zero_points";
  if (!added) {
    std::vector<uint8_t> storage;
    auto bytes = packedBytes(data, storage);
    if (!bytes)
      return bytes.takeError();
    // The exact form: 4 bits in an fp32 graph (an fp16 graph rounds the
    // zero points).
    const bool exact = layout.bits == 4 && act == kFloat;
    if (!exact && !options.allowRequantize)
      return llvm::createStringError(
          "weight '" + name + "' is in " + quant::formatInfo(format).name +
          ": " +
          (layout.bits != 4
               ? "MatMulNBits holds MLX's affine groups (scale and bias) "
                 "exactly only as 4-bit codes with float zero points, "
                 "which ONNX Runtime takes for 4 bits only"
               : "its float zero points (-bias / scale) are exact only in "
                 "an fp32 graph (--onnx-precision=fp32)") +
          "; pass --allow-requantize (phi-translate: "
          "--onnx-allow-requantize) to quantize it again as 4-bit groups of " +
          std::to_string(group) + " and report the error added");
    std::vector<float> reference(size_t(n * k));
    quant::dequantize(format, *bytes, n, k, reference);
    Expected<quant::MLXNBits> w = quant::MLXNBits();
    if (layout.bits == 4) {
      w = quant::mlxToMatMulNBits(layout, *bytes, n, k);
    } else {
      // Quantized again: the decoded weights as 4-bit MLX groups with f32
      // scales (mx.quantize's rounding), then the same re-encoding.
      quant::BlockFormat again =
          *quant::mlxAffineFormat(4, group, quant::MLXScaleType::F32);
      std::vector<uint8_t> requantized(
          size_t(n * llvm::cantFail(quant::rowBytes(again, k))));
      if (llvm::Error e = quant::quantize(again, reference, n, k, requantized))
        return std::move(e);
      w = quant::mlxToMatMulNBits(*quant::mlxAffineLayout(again), requantized,
                                  n, k);
    }
    if (!w)
      return llvm::createStringError("weight '" + name + "': " +
                                     llvm::toString(w.takeError()));
    if (!exact && options.onRequantize)
      options.onRequantize(
          name, quant::formatInfo(format).name, "MatMulNBits 4-bit",
          relativeRmse(reference, decode(*w, n, k, group, act)));
    if (llvm::Error e =
            b.addWeight(qweight, kUInt8, {n, k / group, group / 2}, w->codes))
      return std::move(e);
    if (llvm::Error e = b.addWeight(scales, act, {n * k / group},
                                    encodeFloats(w->scales, act)))
      return std::move(e);
    // Float zero points are of the scales' type (T1), as ONNX Runtime's
    // HQQ quantizer writes them.
    if (llvm::Error e = b.addWeight(zeroPoints, act, {n * k / group},
                                    encodeFloats(w->zeroPoints, act)))
      return std::move(e);
  }
  return std::string(
      b.add("MatMulNBits", {x, qweight, scales, zeroPoints}, 1,
            "com.microsoft")
          .attr("K", k)
          .attr("N", n)
          .attr("bits", int64_t(4))
          .attr("block_size", group)
          .attr("accuracy_level", options.accuracyLevel));
}
