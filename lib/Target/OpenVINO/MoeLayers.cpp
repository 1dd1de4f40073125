//===- MoeLayers.cpp - PhiMoE's router and experts as IR layers --*- C++ -*-===//
//
// Routing, as lib/Runtime/Routing.cpp computes it in f32:
//   sparsemixer: TopK(k=1, stable) picks the first of equal maxima, as
//   torch.max does; each chosen logit's weight is its softmax over the
//   logits s with !((top - s) / max(|s|, top) > 2 * jitter_eps), the
//   second expert's with the first excluded.
//   softmax_topk: TopK(k, stable) of the softmax, divided by its sum with
//   `normalize`.
//
// Experts: every expert runs densely on every token and the outputs are
// summed, in expert order as phi-run accumulates, with a coefficient that
// is the routing weight where some k chose the expert and exactly 0
// elsewhere. That costs num_experts / top_k times a sparse kernel's expert
// FLOPs, which is fine for small models, and it is exact. OpenVINO 2026.4
// has a MoE layer, but only as ov::op::internal::MOE / MOECompressed: ops
// its own transformations create while compiling (from a pattern of
// softmax-top-k routing), in no public opset, so read_model does not accept
// them in an IR file and they cannot express sparsemixer anyway.
//
//===----------------------------------------------------------------------===//
#include "MoeLayers.h"

#include "llvm/Support/FormatVariadic.h"

#include <limits>

using namespace mlir;
using namespace mlir::phi;
using namespace phiq::openvino;
using llvm::Expected;
using ET = ElementType;

namespace {

IRBuilder::Attrs numpy() { return {{"auto_broadcast", "numpy"}}; }

/// Per-row TopK along the last axis: (values, i64 indices), best first,
/// the lower index first among equal values.
std::pair<Output, Output> topK(IRBuilder &b, Output x, int64_t k) {
  std::vector<Output> out = b.addLayer(
      "TopK", "opset11", {x, b.constI64({k}, /*scalar=*/true)},
      {ET::f32, ET::i64},
      {{"axis", "-1"},
       {"mode", "max"},
       {"sort", "value"},
       {"index_element_type", "i64"},
       {"stable", "true"}});
  return {out[0], out[1]};
}

/// Where each logit is kept by sparsemixer's mask around the chosen
/// logit `top` ([B, T, 1]): !((top - s) / max(|s|, top) > threshold).
Output keptNear(IRBuilder &b, Output s, Output top, Output threshold) {
  Output factor = b.add("Maximum", "opset1",
                        {b.add("Abs", "opset1", {s}, ET::f32), top}, ET::f32,
                        numpy());
  Output ratio = b.add(
      "Divide", "opset1",
      {b.add("Subtract", "opset1", {top, s}, ET::f32, numpy()), factor},
      ET::f32, {{"auto_broadcast", "numpy"}, {"m_pythondiv", "true"}});
  return b.add("LogicalNot", "opset1",
               {b.add("Greater", "opset1", {ratio, threshold}, ET::boolean,
                      numpy())},
               ET::boolean);
}

/// softmax(s where `kept`, else -inf) at `index` ([B, T, 1]).
Output maskedSoftmaxAt(IRBuilder &b, Output s, Output kept, Output index) {
  Output minusInf = b.constF32(-std::numeric_limits<float>::infinity());
  Output masked =
      b.add("Select", "opset1", {kept, s, minusInf}, ET::f32, numpy());
  Output probs =
      b.add("Softmax", "opset8", {masked}, ET::f32, {{"axis", "-1"}});
  return b.add("GatherElements", "opset6", {probs, index}, ET::f32,
               {{"axis", "-1"}});
}

Expected<RoutedExperts> sparseMixer(IRBuilder &b, MoeRouteOp op, Output s,
                                    int64_t experts) {
  // float(2 * jitter_eps), as phi-run rounds it.
  Output threshold =
      b.constF32(float(2.0 * op.getJitterEps()->convertToDouble()));
  Output minusInf = b.constF32(-std::numeric_limits<float>::infinity());
  auto [top1, first] = topK(b, s, 1);
  Output w1 = maskedSoftmaxAt(b, s, keptNear(b, s, top1, threshold), first);
  // The second expert: the same without the first (excluded as -inf).
  SmallVector<int64_t> range;
  for (int64_t e = 0; e < experts; ++e)
    range.push_back(e);
  Output isFirst = b.add("Equal", "opset1", {first, b.constI64(range)},
                         ET::boolean, numpy());
  Output rest =
      b.add("Select", "opset1", {isFirst, minusInf, s}, ET::f32, numpy());
  auto [top2, second] = topK(b, rest, 1);
  // The mask is taken on s itself (|-inf| would make 0/0 and keep it) and
  // the first expert dropped explicitly.
  Output kept2 = b.add(
      "LogicalAnd", "opset1",
      {keptNear(b, s, top2, threshold),
       b.add("LogicalNot", "opset1", {isFirst}, ET::boolean)},
      ET::boolean, numpy());
  Output w2 = maskedSoftmaxAt(b, s, kept2, second);
  RoutedExperts routed;
  routed.weights =
      b.add("Concat", "opset1", {w1, w2}, ET::f32, {{"axis", "-1"}});
  routed.indices =
      b.add("Concat", "opset1", {first, second}, ET::i64, {{"axis", "-1"}});
  return routed;
}

} // namespace

Expected<RoutedExperts> phiq::openvino::lowerMoeRoute(IRBuilder &b,
                                                      MoeRouteOp op,
                                                      Output logits) {
  const int64_t experts =
      cast<RankedTensorType>(op.getLogits().getType()).getShape().back();
  if (op.getRouting() == Routing::SparseMixer)
    return sparseMixer(b, op, logits, experts);
  // softmax_topk: the most probable top_k, optionally renormalized.
  Output probs =
      b.add("Softmax", "opset8", {logits}, ET::f32, {{"axis", "-1"}});
  auto [weights, indices] = topK(b, probs, int64_t(op.getTopK()));
  if (op.getNormalize()) {
    Output chosen =
        b.add("ReduceSum", "opset1", {weights, b.constI64({-1})}, ET::f32,
              {{"keep_dims", "true"}});
    weights = b.add("Divide", "opset1", {weights, chosen}, ET::f32,
                    {{"auto_broadcast", "numpy"}, {"m_pythondiv", "true"}});
  }
  return RoutedExperts{weights, indices};
}

Expected<Output> phiq::openvino::lowerMoeExperts(IRBuilder &b,
                                                 MoeExpertsOp op, Output x,
                                                 const RoutedExperts &routed,
                                                 const WeightFn &weight) {
  const int64_t experts = op.getNumExperts();
  const bool stacked = op.isStacked();
  // Expert e's matrix [out, in] of a per-expert or stacked group.
  auto matrix = [&](ValueRange group, int64_t e) -> Expected<Output> {
    auto w = weight(group[stacked ? 0 : e]);
    if (!w || !stacked)
      return w;
    return b.add("Gather", "opset8",
                 {*w, b.constI64({e}, /*scalar=*/true),
                  b.constI64({0}, /*scalar=*/true)},
                 ET::f32, {{"batch_dims", "0"}});
  };
  auto linear = [&](Output in, Output w) {
    return b.add("MatMul", "opset1", {in, w}, ET::f32,
                 {{"transpose_a", "false"}, {"transpose_b", "true"}});
  };
  Output zero = b.constF32(0.0f);
  Output sum;
  for (int64_t e = 0; e < experts; ++e) {
    auto gate = matrix(op.getGate(), e);
    if (!gate)
      return gate.takeError();
    auto up = matrix(op.getUp(), e);
    if (!up)
      return up.takeError();
    auto down = matrix(op.getDown(), e);
    if (!down)
      return down.takeError();
    // phi-run: up * (g / (1 + exp(-g))), as the dense GLU.
    Output g = linear(x, *gate);
    Output silu = b.add("Multiply", "opset1",
                        {g, b.add("Sigmoid", "opset1", {g}, ET::f32)}, ET::f32,
                        numpy());
    Output h = b.add("Multiply", "opset1", {silu, linear(x, *up)}, ET::f32,
                     numpy());
    Output y = linear(h, *down);
    // e's weight where some k chose it, else 0 (a row never repeats e, so
    // the sum adds at most one non-zero).
    Output chosen = b.add("Equal", "opset1",
                          {routed.indices, b.constI64({e}, /*scalar=*/true)},
                          ET::boolean, numpy());
    Output coefficient = b.add(
        "ReduceSum", "opset1",
        {b.add("Select", "opset1", {chosen, routed.weights, zero}, ET::f32,
               numpy()),
         b.constI64({-1})},
        ET::f32, {{"keep_dims", "true"}});
    Output term =
        b.add("Multiply", "opset1", {coefficient, y}, ET::f32, numpy());
    sum = e == 0 ? term
                 : b.add("Add", "opset1", {sum, term}, ET::f32, numpy());
  }
  return sum;
}
