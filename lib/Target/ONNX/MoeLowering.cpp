//===- MoeLowering.cpp - PhiMoE's router and experts as ONNX ops -*- C++ -*-===//
//
// Routing: sparsemixer written op by op as lib/Runtime/Routing.cpp computes
// it in fp32 (ArgMax picks the first of equal maxima, as torch.max does;
// the threshold is 2 * jitter_eps rounded to fp32).
//
// Experts: every expert runs densely on every token and the outputs are
// summed with per-expert coefficients that are the routing weight where
// the expert was chosen and exactly 0 elsewhere, in expert order as
// phi-run accumulates. This costs num_experts / top_k times the expert
// FLOPs of a sparse kernel, which is fine for small models; it is exact,
// and runs on every ONNX Runtime execution provider. Each per-expert
// matrix is one product in the writer's form for its format, so experts
// quantized by --phiq-quantize-onnx are MatMulNBits nodes (a stacked
// [E, out, in] group is sliced as floats). com.microsoft.MoE
// was not used: see docs/UserGuide.md (ONNX) for why.
//
//===----------------------------------------------------------------------===//
#include "MoeLowering.h"

#include <limits>

using namespace mlir;
using namespace mlir::phi;
using namespace phiq::onnx;
using llvm::Expected;

namespace {

constexpr int32_t kFloat = ::onnx::TensorProto_DataType_FLOAT;
constexpr int32_t kInt64 = ::onnx::TensorProto_DataType_INT64;

llvm::Error fail(const llvm::Twine &message) {
  return llvm::createStringError(message);
}

/// Where each logit is kept by sparsemixer's mask around the chosen
/// logit `top` ([B, T, 1]): !((top - s) / max(|s|, top) > threshold).
std::string keptNear(GraphBuilder &b, const std::string &s,
                     const std::string &top, const std::string &threshold) {
  std::string factor = b.add("Max", {b.add("Abs", {s}), top});
  std::string ratio = b.add("Div", {b.add("Sub", {top, s}), factor});
  return b.add("Not", {b.add("Greater", {ratio, threshold})});
}

/// softmax(s where `kept`, else -inf) at `index` ([B, T, 1]).
std::string maskedSoftmaxAt(GraphBuilder &b, const std::string &s,
                            const std::string &kept,
                            const std::string &index) {
  std::string minusInf =
      b.constScalar(-std::numeric_limits<float>::infinity(), kFloat);
  std::string probs = b.add("Softmax", {b.add("Where", {kept, s, minusInf})})
                          .attr("axis", int64_t(-1));
  return b.add("GatherElements", {probs, index}).attr("axis", int64_t(-1));
}

} // namespace

Expected<RoutedExperts> phiq::onnx::lowerMoeRoute(GraphBuilder &b,
                                                  MoeRouteOp op,
                                                  const std::string &logits) {
  const int64_t experts =
      cast<RankedTensorType>(op.getLogits().getType()).getShape().back();
  if (op.getRouting() != Routing::SparseMixer)
    return fail("the ONNX writer supports only sparsemixer routing "
                "(PhiMoE's checkpoint rule); this " +
                op->getName().getStringRef() +
                " uses softmax_topk (llama.cpp's rule, from a GGUF import "
                "or --phiq-emulate-llamacpp)");
  // The verifier guarantees sparsemixer's top_k = 2 <= experts.
  const std::string &s = logits;
  std::string threshold =
      b.constScalar(float(2.0 * op.getJitterEps()->convertToDouble()), kFloat);
  auto argmax = [&](const std::string &x) {
    return b.add("ArgMax", {x})
        .attr("axis", int64_t(-1))
        .attr("keepdims", int64_t(1))
        .attr("select_last_index", int64_t(0));
  };
  auto reduceMax = [&](const std::string &x) {
    return b.add("ReduceMax", {x})
        .attr("axes", ArrayRef<int64_t>{-1})
        .attr("keepdims", int64_t(1));
  };
  // First expert: the argmax, weighted over the logits close to it.
  std::string first = argmax(s);
  std::string top1 = reduceMax(s);
  std::string w1 = maskedSoftmaxAt(b, s, keptNear(b, s, top1, threshold), first);
  // Second expert: the same without the first (excluded, as -inf).
  SmallVector<int64_t> range;
  for (int64_t e = 0; e < experts; ++e)
    range.push_back(e);
  std::string isFirst = b.add("Equal", {first, b.constI64(range)});
  std::string minusInf =
      b.constScalar(-std::numeric_limits<float>::infinity(), kFloat);
  std::string rest = b.add("Where", {isFirst, minusInf, s});
  std::string second = argmax(rest);
  std::string top2 = reduceMax(rest);
  // The mask is taken on s itself (|-inf| would make 0/0 and keep it) and
  // the first expert dropped explicitly.
  std::string kept2 = b.add("And", {keptNear(b, s, top2, threshold),
                                    b.add("Not", {isFirst})});
  std::string w2 = maskedSoftmaxAt(b, s, kept2, second);
  RoutedExperts routed;
  routed.weights = b.add("Concat", {w1, w2}).attr("axis", int64_t(-1));
  routed.indices = b.add("Concat", {first, second}).attr("axis", int64_t(-1));
  return routed;
}

Expected<std::string> phiq::onnx::lowerMoeExperts(
    GraphBuilder &b, MoeExpertsOp op, const std::string &x,
    const RoutedExperts &routed, int32_t act, const ProductFn &product) {
  const int64_t experts = op.getNumExperts();
  const int64_t topK =
      cast<RankedTensorType>(op.getWeights().getType()).getShape().back();
  const bool stacked = op.isStacked();
  // in times expert `e`'s matrix ([out, in]) of a per-expert or stacked
  // group.
  auto times = [&](const std::string &in, ValueRange group, int64_t e) {
    return stacked ? product(in, group[0], e) : product(in, group[e], -1);
  };
  // Per-token routing weights and indices, one [B, T, 1] slice per k.
  SmallVector<int64_t> ones(topK, 1);
  Node weightParts =
      b.add("Split", {routed.weights, b.constI64(ones)}, int(topK))
          .attr("axis", int64_t(-1));
  Node indexParts =
      b.add("Split", {routed.indices, b.constI64(ones)}, int(topK))
          .attr("axis", int64_t(-1));
  std::string zero = b.constScalar(0.0f, act);
  std::string sum;
  for (int64_t e = 0; e < experts; ++e) {
    auto g = times(x, op.getGate(), e);
    if (!g)
      return g.takeError();
    auto up = times(x, op.getUp(), e);
    if (!up)
      return up.takeError();
    std::string silu = b.add("Mul", {*g, b.add("Sigmoid", {*g})});
    std::string h = b.add("Mul", {silu, *up});
    auto y = times(h, op.getDown(), e);
    if (!y)
      return y.takeError();
    // The weight of e where some k chose it, else 0 (k's never repeat e).
    std::string coefficient;
    std::string expert = b.constI64({e}, /*scalar=*/true);
    for (int64_t k = 0; k < topK; ++k) {
      std::string chosen = b.add("Equal", {indexParts.out(int(k)), expert});
      std::string w =
          b.add("Where", {chosen, weightParts.out(int(k)), zero});
      coefficient = k == 0 ? w : std::string(b.add("Add", {coefficient, w}));
    }
    std::string term = b.add("Mul", {coefficient, *y});
    sum = e == 0 ? term : std::string(b.add("Add", {sum, term}));
  }
  return sum;
}
