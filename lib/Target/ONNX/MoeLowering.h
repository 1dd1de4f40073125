//===- MoeLowering.h - PhiMoE's router and experts as ONNX ops ---*- C++ -*-===//
//
// Lowers phi.moe_route (sparsemixer) and phi.moe_experts to standard ONNX
// ops that compute what phi-run computes. See MoeLowering.cpp for the form.
//
//===----------------------------------------------------------------------===//
#ifndef PHIQ_LIB_TARGET_ONNX_MOELOWERING_H
#define PHIQ_LIB_TARGET_ONNX_MOELOWERING_H

#include "GraphBuilder.h"

#include "dialects/Phi/PhiOps.h"

#include <functional>

namespace phiq::onnx {

/// The initializer holding a weight as floats of the activation type, in
/// its checkpoint layout.
/// x [.., in] times a 2-D [out, in] weight in the writer's form for its
/// format (MatMulNBits for blocks, MatMul for floats), or (expert >= 0)
/// times matrix `expert` of a stacked [E, out, in] weight, as floats.
using ProductFn = std::function<llvm::Expected<std::string>(
    const std::string &x, mlir::Value weight, int64_t expert)>;

struct RoutedExperts {
  std::string weights; // float [B, T, top_k]
  std::string indices; // int64 [B, T, top_k]
};

/// Emits sparsemixer routing of the fp32 router `logits` [B, T, E].
llvm::Expected<RoutedExperts> lowerMoeRoute(GraphBuilder &b,
                                            mlir::phi::MoeRouteOp op,
                                            const std::string &logits);

/// Emits the experts on `x` [B, T, H] of type `act` mixed by `routed`
/// (weights in `act` too); returns [B, T, H]. Every expert matrix goes
/// through `product`, so experts quantized for MatMulNBits stay packed.
llvm::Expected<std::string>
lowerMoeExperts(GraphBuilder &b, mlir::phi::MoeExpertsOp op,
                const std::string &x, const RoutedExperts &routed,
                int32_t act, const ProductFn &product);

} // namespace phiq::onnx

#endif // PHIQ_LIB_TARGET_ONNX_MOELOWERING_H
