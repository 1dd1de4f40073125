//===- MLXWeights.h - Imported MLX linears as MatMulNBits -------*- C++ -*-===//
//
// An MLX folder re-targeted to ONNX: its 4-bit affine groups become
// com.microsoft.MatMulNBits with float zero points (zp = -bias / scale,
// w = (q - zp) * scale), which ONNX Runtime's CPU kernel decodes to MLX's
// scale * q + bias up to f32 rounding. Other widths have no such form
// (ONNX Runtime takes float zero points for 4 bits only) and are refused,
// or with allowRequantize quantized again into 4-bit groups, the error
// added reported.
//
//===----------------------------------------------------------------------===//
#ifndef PHIQ_LIB_TARGET_ONNX_MLXWEIGHTS_H
#define PHIQ_LIB_TARGET_ONNX_MLXWEIGHTS_H

#include "GraphBuilder.h"

#include "phiq/Target/ONNX/ExportONNX.h"

#include "mlir/IR/Operation.h"

namespace phiq::onnx {

/// x [.., K] times the MLX-format [N, K] weight of `dataOp`, transposed, as
/// one MatMulNBits node; `act` is the graph's float type. The weight's
/// initializers are added on the first call for `dataOp` (`added` says
/// whether they exist).
llvm::Expected<std::string> emitMLXMatMulNBits(GraphBuilder &b,
                                               mlir::Operation *dataOp,
                                               const std::string &x,
                                               int32_t act, bool added,
                                               const ExportOptions &options);

} // namespace phiq::onnx

#endif // PHIQ_LIB_TARGET_ONNX_MLXWEIGHTS_H
