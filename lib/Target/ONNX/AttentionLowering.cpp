//===- AttentionLowering.cpp - phi.attention as standard ONNX ops -*- C++ -*-=//
//
// Why standard ONNX ops and not com.microsoft.GroupQueryAttention: the graph
// must reproduce phi-run (to 1e-4 in perplexity) for longrope with its
// attention factor, partial rotary (Phi-4-mini rotates 3/4 of each head),
// sliding windows and GQA, on CPU, for a full-sequence pass as well as for
// step-by-step decode. Written out in MatMul / Softmax / Where, every one of
// those rules is explicit in the graph, and the arithmetic follows phi-run's
// kernels operation for operation (rotation x1*cos - x2*sin, scores scaled
// after the dot product, softmax in fp32). The fused contrib op would be
// faster, but it fixes its own rotary and masking conventions (seqlens_k,
// interleaving, cache layout) that would each have to be proven equal; that
// is a later optimisation with this graph as its reference. The KV cache is
// ORT GenAI's default layout: past [B, kv_heads, P, head_dim] in, present =
// concat(past, new) out (past_present_share_buffer = false).
//
// Longrope: phi-run (like transformers' Phi3) rotates a forward pass with
// the long factors when its highest position reaches the original context
// (past + new > original_max_positions) and with the short factors
// otherwise. ONNX Runtime GenAI's builder selects on the same quantity, the
// attention mask's length. Both tables are gathered (the short one with
// positions clamped into range) and a Where picks one, so no If subgraph
// is needed. Cos and sin are precomputed exactly as phi-run's rotary
// kernel computes them: cosf(float(pos) * inv_freq[i]) * scale.
//
//===----------------------------------------------------------------------===//
#include "AttentionLowering.h"

#include "llvm/ADT/SmallVector.h"

#include <cmath>
#include <limits>

using namespace mlir;
using namespace mlir::phi;
using namespace phiq::onnx;
using llvm::Expected;

static constexpr int32_t kFloat = ::onnx::TensorProto_DataType_FLOAT;

std::string AttentionLowering::toFloat(const std::string &x) {
  if (act == kFloat)
    return x;
  return b.add("Cast", {x}).attr("to", int64_t(kFloat));
}

std::string AttentionLowering::toAct(const std::string &x) {
  if (act == kFloat)
    return x;
  return b.add("Cast", {x}).attr("to", int64_t(act));
}

Expected<std::string> AttentionLowering::table(RopeAttr rope, bool longFactors,
                                               bool sine, int64_t rows) {
  // A position that selects the factors we want: phi-run picks them from
  // the pass's highest position.
  int64_t selector = longFactors ? rope.getOriginalMaxPositions() : 0;
  llvm::SmallVector<float> invFreq;
  rope.computeInvFreq(selector, invFreq);
  const float scale = float(rope.getCosSinScale(selector));
  const int64_t half = int64_t(invFreq.size());
  std::vector<float> values(size_t(rows * half));
  for (int64_t pos = 0; pos < rows; ++pos)
    for (int64_t i = 0; i < half; ++i) {
      const float angle = float(pos) * invFreq[size_t(i)];
      values[size_t(pos * half + i)] =
          (sine ? sinf(angle) : cosf(angle)) * scale;
    }
  std::string name = std::string(sine ? "sin" : "cos") + "_cache" +
                     (rope.getKind() == RopeKind::LongRope
                          ? (longFactors ? "_long" : "_short")
                          : "");
  if (rotaries.size() > 0)
    name += "_" + std::to_string(rotaries.size());
  if (llvm::Error e = b.addWeight(name, act, {rows, half},
                                  encodeFloats(values, act)))
    return std::move(e);
  return name;
}

Expected<AttentionLowering::Rotary> AttentionLowering::rotaryFor(RopeAttr rope) {
  auto it = rotaries.find(rope);
  if (it != rotaries.end())
    return it->second;
  b.setScope("/model/rotary");
  Rotary rotary;
  const std::string &pos = inputs.positionIds;
  if (rope.getKind() != RopeKind::LongRope) {
    auto cos = table(rope, false, false, rope.getMaxPositions());
    auto sin = table(rope, false, true, rope.getMaxPositions());
    if (!cos || !sin)
      return cos ? sin.takeError() : cos.takeError();
    rotary.cos = b.add("Gather", {*cos, pos}).attr("axis", int64_t(0));
    rotary.sin = b.add("Gather", {*sin, pos}).attr("axis", int64_t(0));
  } else {
    const int64_t original = rope.getOriginalMaxPositions();
    auto cosShort = table(rope, false, false, original);
    auto sinShort = table(rope, false, true, original);
    auto cosLong = table(rope, true, false, rope.getMaxPositions());
    auto sinLong = table(rope, true, true, rope.getMaxPositions());
    for (auto *t : {&cosShort, &sinShort, &cosLong, &sinLong})
      if (!*t)
        return t->takeError();
    // Clamped positions keep the short gather in range when the long
    // tables are the ones selected.
    std::string clamped =
        b.add("Min", {pos, b.constI64({original - 1}, /*scalar=*/true)});
    std::string useLong =
        b.add("Greater", {totalLength, b.constI64({original}, true)});
    auto pick = [&](const std::string &shortTable,
                    const std::string &longTable) -> std::string {
      std::string s = b.add("Gather", {shortTable, clamped}).attr("axis",
                                                                  int64_t(0));
      std::string l = b.add("Gather", {longTable, pos}).attr("axis", int64_t(0));
      return b.add("Where", {useLong, l, s});
    };
    rotary.cos = pick(*cosShort, *cosLong);
    rotary.sin = pick(*sinShort, *sinLong);
  }
  // [B, T, half] -> [B, 1, T, half], broadcast over the heads.
  rotary.cos = b.add("Unsqueeze", {rotary.cos, b.constI64({1})});
  rotary.sin = b.add("Unsqueeze", {rotary.sin, b.constI64({1})});
  rotaries[rope] = rotary;
  return rotary;
}

std::string AttentionLowering::maskFor(std::optional<int64_t> window) {
  int64_t key = window ? *window : std::numeric_limits<int64_t>::max();
  auto it = masks.find(key);
  if (it != masks.end())
    return it->second;
  b.setScope("/model/attn_mask");
  // Key slot j is visible from query slot i = past + t when j <= i,
  // i - j < window, and attention_mask[b, j] is 1. Slots equal positions
  // without padding; with left padding both shift by the same amount, so
  // the window is still measured in positions.
  std::string zero = b.constI64({0}, true), one = b.constI64({1}, true);
  std::string queries = b.add("Range", {pastLength, totalLength, one});
  std::string keys = b.add("Range", {zero, totalLength, one});
  std::string column = b.add("Unsqueeze", {queries, b.constI64({1})});
  std::string row = b.add("Unsqueeze", {keys, b.constI64({0})});
  std::string allowed = b.add("LessOrEqual", {row, column}); // [T, S]
  if (window) {
    std::string distance = b.add("Sub", {column, row});
    std::string inside =
        b.add("Less", {distance, b.constI64({*window}, true)});
    allowed = b.add("And", {allowed, inside});
  }
  std::string causal = b.add("Unsqueeze", {allowed, b.constI64({0, 1})});
  std::string padding =
      b.add("Cast", {inputs.attentionMask}).attr("to", int64_t(
                                                           ::onnx::TensorProto_DataType_BOOL));
  padding = b.add("Unsqueeze", {padding, b.constI64({1, 2})}); // [B,1,1,S]
  std::string mask = b.add("And", {causal, padding});          // [B,1,T,S]
  masks[key] = mask;
  return mask;
}

std::string AttentionLowering::rotate(const std::string &x,
                                      const Rotary &rotary, int64_t headDim,
                                      int64_t rotaryDim) {
  const int64_t half = rotaryDim / 2;
  std::string axis = b.constI64({3});
  std::string lo = b.add("Slice", {x, b.constI64({0}), b.constI64({half}), axis});
  std::string hi =
      b.add("Slice", {x, b.constI64({half}), b.constI64({rotaryDim}), axis});
  // phi-run: lo' = lo*cos - hi*sin, hi' = hi*cos + lo*sin.
  std::string newLo = b.add("Sub", {b.add("Mul", {lo, rotary.cos}),
                                    b.add("Mul", {hi, rotary.sin})});
  std::string newHi = b.add("Add", {b.add("Mul", {hi, rotary.cos}),
                                    b.add("Mul", {lo, rotary.sin})});
  std::vector<std::string> parts = {newLo, newHi};
  if (rotaryDim < headDim) // partial rotary: the rest passes unchanged
    parts.push_back(b.add("Slice", {x, b.constI64({rotaryDim}),
                                    b.constI64({headDim}), axis}));
  return b.add("Concat", parts).attr("axis", int64_t(3));
}

Expected<std::string> AttentionLowering::lower(AttentionOp op, unsigned layer,
                                               const std::string &q,
                                               const std::string &k,
                                               const std::string &v) {
  const int64_t heads = op.getNumHeads(), kvHeads = op.getNumKvHeads(),
                headDim = op.getHeadDim();
  RopeAttr rope = op.getRope();
  if (totalLength.empty()) {
    b.setScope("/model/lengths");
    std::string maskShape = b.add("Shape", {inputs.attentionMask});
    totalLength = b.add("Gather", {maskShape, b.constI64({1}, true)})
                      .attr("axis", int64_t(0));
    std::string idsShape = b.add("Shape", {inputs.inputIds});
    std::string newLength = b.add("Gather", {idsShape, b.constI64({1}, true)})
                                .attr("axis", int64_t(0));
    pastLength = b.add("Sub", {totalLength, newLength});
  }
  auto rotary = rotaryFor(rope);
  if (!rotary)
    return rotary.takeError();
  // Phi-3's window (262144) is beyond any position: no mask work for it.
  std::optional<int64_t> window;
  if (auto w = op.getSlidingWindow(); w && int64_t(*w) < rope.getMaxPositions())
    window = int64_t(*w);
  std::string mask = maskFor(window);

  b.setScope("/model/layers." + std::to_string(layer) + "/attn");
  auto heads4 = [&](const std::string &x, int64_t n) {
    std::string r = b.add("Reshape", {x, b.constI64({0, 0, n, headDim})});
    return std::string(
        b.add("Transpose", {r}).attr("perm", llvm::ArrayRef<int64_t>{0, 2, 1, 3}));
  };
  std::string query = rotate(heads4(q, heads), *rotary, headDim,
                             rope.getRotaryDim());
  std::string key = rotate(heads4(k, kvHeads), *rotary, headDim,
                           rope.getRotaryDim());
  std::string value = heads4(v, kvHeads);

  std::string prefix = "past_key_values." + std::to_string(layer);
  std::string present = "present." + std::to_string(layer);
  std::vector<Dim> pastDims = {std::string("batch_size"), kvHeads,
                               std::string("past_sequence_length"), headDim};
  std::vector<Dim> presentDims = {std::string("batch_size"), kvHeads,
                                  std::string("total_sequence_length"),
                                  headDim};
  b.addInput(prefix + ".key", act, pastDims);
  b.addInput(prefix + ".value", act, pastDims);
  b.addOutput(present + ".key", act, presentDims);
  b.addOutput(present + ".value", act, presentDims);
  std::string keys =
      b.addNamed("Concat", {prefix + ".key", key}, {present + ".key"})
          .attr("axis", int64_t(2));
  std::string values =
      b.addNamed("Concat", {prefix + ".value", value}, {present + ".value"})
          .attr("axis", int64_t(2));

  // GQA: query head h reads kv head h / (heads / kvHeads).
  if (kvHeads != heads) {
    const int64_t group = heads / kvHeads;
    auto repeat = [&](const std::string &x) {
      std::string u = b.add("Unsqueeze", {x, b.constI64({2})});
      std::string e = b.add("Expand", {u, b.constI64({1, 1, group, 1, 1})});
      return std::string(
          b.add("Reshape", {e, b.constI64({0, heads, -1, headDim})}));
    };
    keys = repeat(keys);
    values = repeat(values);
  }

  std::string keysT = b.add("Transpose", {keys}).attr(
      "perm", llvm::ArrayRef<int64_t>{0, 1, 3, 2});
  std::string scores = toFloat(b.add("MatMul", {query, keysT}));
  scores = b.add("Mul", {scores, b.constScalar(float(op.getSoftmaxScale()),
                                               kFloat)});
  // A finite floor rather than -inf: a fully masked (padding) row then
  // softmaxes to a harmless uniform row instead of NaN.
  scores = b.add("Where", {mask, scores,
                           b.constScalar(std::numeric_limits<float>::lowest(),
                                         kFloat)});
  std::string probs =
      toAct(b.add("Softmax", {scores}).attr("axis", int64_t(-1)));
  std::string context = b.add("MatMul", {probs, values});
  std::string merged = b.add("Transpose", {context}).attr(
      "perm", llvm::ArrayRef<int64_t>{0, 2, 1, 3});
  return std::string(
      b.add("Reshape", {merged, b.constI64({0, 0, heads * headDim})}));
}
