//===- MoeLayers.h - PhiMoE's router and experts as IR layers ----*- C++ -*-===//
//
// Lowers phi.moe_route (sparsemixer) and phi.moe_experts to public
// OpenVINO opset layers that compute what phi-run computes. See
// MoeLayers.cpp for the form and why no MoE op is used.
//
//===----------------------------------------------------------------------===//
#ifndef PHIQ_LIB_TARGET_OPENVINO_MOELAYERS_H
#define PHIQ_LIB_TARGET_OPENVINO_MOELAYERS_H

#include "IRBuilder.h"

#include "dialects/Phi/PhiOps.h"

#include <functional>

namespace phiq::openvino {

/// A weight as an f32 tensor in its checkpoint layout ([out, in], or
/// [E, out, in] when stacked).
using WeightFn = std::function<llvm::Expected<Output>(mlir::Value weight)>;

struct RoutedExperts {
  Output weights; // f32 [B, T, top_k], best first
  Output indices; // i64 [B, T, top_k]
};

/// Emits the routing (sparsemixer or softmax_topk) of the f32 router
/// `logits` [B, T, E].
llvm::Expected<RoutedExperts> lowerMoeRoute(IRBuilder &b,
                                            mlir::phi::MoeRouteOp op,
                                            Output logits);

/// Emits the experts on `x` [B, T, H] mixed by `routed`; returns
/// [B, T, H].
llvm::Expected<Output> lowerMoeExperts(IRBuilder &b,
                                       mlir::phi::MoeExpertsOp op, Output x,
                                       const RoutedExperts &routed,
                                       const WeightFn &weight);

} // namespace phiq::openvino

#endif // PHIQ_LIB_TARGET_OPENVINO_MOELAYERS_H
