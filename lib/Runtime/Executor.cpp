//===- Executor.cpp - Reference executor for phi models ---------*- C++ -*-===//
//
// Interprets a phi.model op by op. Activations are [rows, features] fp32
// buffers with rows = batch * new tokens; only attention looks at the
// sequence structure. The IR is walked on every forward call: a model has a
// few hundred ops, so the walk is noise next to the matmuls, and it keeps
// the executor honest about what the IR says.
//
//===----------------------------------------------------------------------===//
#include "phiq/Runtime/Executor.h"

#include "dialects/Phi/PhiParams.h"
#include "dialects/PhiQ/PackWeight.h"
#include "dialects/PhiQ/PhiQOps.h"
#include "phiq/Quant/ActivationQuant.h"
#include "phiq/Quant/ActivationRounding.h"
#include "phiq/Quant/BlockFormat.h"
#include "phiq/Quant/Fp16.h"
#include "phiq/Runtime/Kernels.h"
#include "phiq/Runtime/Routing.h"

#include "mlir/IR/BuiltinAttributes.h"
#include "llvm/Support/FormatVariadic.h"

#include <cstring>

using namespace mlir;
using namespace mlir::phi;
using namespace phiq::rt;
using llvm::Error;

namespace {

/// A [rows, cols] activation buffer: fp32, or int32 for expert indices.
struct Buffer {
  std::vector<float> data;
  std::vector<int32_t> ints;
  int64_t rows = 0, cols = 0;
  float *row(int64_t r) { return data.data() + r * cols; }
};

int64_t featuresOf(Value v) {
  return llvm::cast<RankedTensorType>(v.getType()).getShape().back();
}

Error opError(Operation *op, const llvm::Twine &message) {
  std::string loc;
  llvm::raw_string_ostream os(loc);
  op->getLoc().print(os);
  return llvm::createStringError(op->getName().getStringRef() + " at " + loc +
                                 ": " + message);
}

/// fp32 copy of an inline elements attribute.
Error copyElements(Operation *op, ElementsAttr attr, std::vector<float> &out) {
  auto dense = llvm::dyn_cast<DenseElementsAttr>(attr);
  if (!dense)
    return opError(op, "only dense<> inline weights can be executed");
  out.clear();
  out.reserve(dense.getNumElements());
  for (APFloat v : dense.getValues<APFloat>()) {
    bool lost;
    v.convert(APFloat::IEEEsingle(), APFloat::rmNearestTiesToEven, &lost);
    out.push_back(v.convertToFloat());
  }
  return Error::success();
}

/// Causal attention rounded the way llama.cpp's non-flash CPU path rounds
/// it: fp16 queries against the fp16 cache, fp32 softmax, fp16
/// probabilities times fp16 values. Slow and simple: it only serves to
/// predict llama.cpp's numbers.
void attentionLikeLlamaCpp(const float *q, int64_t ldq, const float *k,
                           const float *v, int64_t ldkv, float *out,
                           int64_t ldo, int64_t tokens, int64_t past,
                           int64_t heads, int64_t kvHeads, int64_t headDim,
                           float scale, int64_t window) {
  using ::phiq::quant::roundToFp16;
  const int64_t group = heads / kvHeads;
  parallelFor(tokens * heads, 1, [&](int64_t begin, int64_t end) {
    std::vector<float> scores, qh(static_cast<size_t>(headDim));
    for (int64_t i = begin; i < end; ++i) {
      int64_t t = i / heads, h = i % heads, kvh = h / group;
      int64_t pos = past + t;
      for (int64_t d = 0; d < headDim; ++d)
        qh[d] = roundToFp16(q[t * ldq + h * headDim + d]);
      int64_t first = window == INT64_MAX ? 0 : std::max<int64_t>(0, pos - window + 1);
      scores.assign(static_cast<size_t>(pos + 1 - first), 0.0f);
      float maxScore = -INFINITY;
      for (int64_t j = first; j <= pos; ++j) {
        const float *kj = k + j * ldkv + kvh * headDim;
        float dot = 0;
        for (int64_t d = 0; d < headDim; ++d)
          dot += qh[d] * kj[d];
        scores[j - first] = dot * scale;
        maxScore = std::max(maxScore, scores[j - first]);
      }
      float sum = 0;
      for (float &s : scores)
        sum += s = std::exp(s - maxScore);
      float *o = out + t * ldo + h * headDim;
      std::fill(o, o + headDim, 0.0f);
      for (int64_t j = first; j <= pos; ++j) {
        float p = roundToFp16(scores[j - first] / sum);
        const float *vj = v + j * ldkv + kvh * headDim;
        for (int64_t d = 0; d < headDim; ++d)
          o[d] += p * vj[d];
      }
    }
  });
}

/// The format a weight is stored in (what llama.cpp multiplies by).
::phiq::quant::BlockFormat storageFormat(Value weight) {
  if (auto dequantize = weight.getDefiningOp<mlir::phiq_ir::DequantizeOp>())
    return dequantize.getInput().getType().getScheme().getBlockFormat();
  if (auto packed = weight.getDefiningOp<mlir::phiq_ir::PackedWeightOp>())
    return packed.getType().getScheme().getBlockFormat();
  Type element = llvm::cast<RankedTensorType>(weight.getType()).getElementType();
  if (element.isF16())
    return ::phiq::quant::BlockFormat::F16;
  if (element.isBF16())
    return ::phiq::quant::BlockFormat::BF16;
  return ::phiq::quant::BlockFormat::F32;
}

/// phi.moe_experts: out[t] = sum_k mix[t,k] * expert_{idx[t,k]}(in[t]).
void runExperts(MoeExpertsOp op,
                const llvm::DenseMap<Value, std::vector<float>> &weights,
                const Buffer &in, const Buffer &mix, const Buffer &idx,
                Buffer &out, bool llamaCppArithmetic,
                const Executor::LinearInputObserver &observe) {
  const int64_t experts = op.getNumExperts(), topK = mix.cols,
                hidden = in.cols, inter = op.getIntermediateSize();
  const bool stacked = op.isStacked();
  std::fill(out.data.begin(), out.data.end(), 0.0f);
  std::vector<float> x, gateUp, act, y;
  std::vector<std::pair<int64_t, int64_t>> picks; // (token, k)
  // Expert by expert, in index order (as transformers accumulates): gather
  // the tokens routed here, run the gated MLP on them as one batch, and add
  // the weighted results back.
  for (int64_t e = 0; e < experts; ++e) {
    picks.clear();
    for (int64_t t = 0; t < in.rows; ++t)
      for (int64_t k = 0; k < topK; ++k)
        if (idx.ints[t * topK + k] == e)
          picks.push_back({t, k});
    if (picks.empty())
      continue;
    const int64_t m = int64_t(picks.size());
    // The weight operand the observer names, and its slice when stacked.
    auto observed = [&](ValueRange group) {
      Value v = group[stacked ? 0 : e];
      if (auto dequantize = v.getDefiningOp<mlir::phiq_ir::DequantizeOp>())
        v = dequantize.getInput();
      return v;
    };
    auto expertWeight = [&](ValueRange group, int64_t size) {
      Value v = group[stacked ? 0 : e];
      if (auto dequantize = v.getDefiningOp<mlir::phiq_ir::DequantizeOp>())
        v = dequantize.getInput();
      const float *base = weights.find(v)->second.data();
      return stacked ? base + e * size : base;
    };
    const float *wGate = expertWeight(op.getGate(), inter * hidden);
    const float *wUp = expertWeight(op.getUp(), inter * hidden);
    const float *wDown = expertWeight(op.getDown(), hidden * inter);
    x.resize(size_t(m * hidden));
    for (int64_t i = 0; i < m; ++i)
      std::memcpy(x.data() + i * hidden,
                  in.data.data() + picks[i].first * hidden,
                  sizeof(float) * hidden);
    if (observe) {
      observe(observed(op.getGate()), stacked ? e : -1, x, m, hidden);
      observe(observed(op.getUp()), stacked ? e : -1, x, m, hidden);
    }
    ::phiq::quant::BlockFormat upFormat =
        storageFormat(op.getGate()[stacked ? 0 : e]);
    ::phiq::quant::BlockFormat downFormat =
        storageFormat(op.getDown()[stacked ? 0 : e]);
    if (llamaCppArithmetic)
      ::phiq::quant::roundActivationsLikeLlamaCpp(upFormat, x.data(), m,
                                                  hidden);
    // [gate | up] side by side so siluGate can combine them.
    gateUp.resize(size_t(m * 2 * inter));
    matmulTransB(x.data(), hidden, wGate, nullptr, gateUp.data(), 2 * inter,
                 m, inter, hidden);
    matmulTransB(x.data(), hidden, wUp, nullptr, gateUp.data() + inter,
                 2 * inter, m, inter, hidden);
    act.resize(size_t(m * inter));
    siluGate(gateUp.data(), act.data(), m, inter);
    if (observe)
      observe(observed(op.getDown()), stacked ? e : -1, act, m, inter);
    if (llamaCppArithmetic)
      ::phiq::quant::roundActivationsLikeLlamaCpp(downFormat, act.data(), m,
                                                  inter);
    y.resize(size_t(m * hidden));
    matmulTransB(act.data(), inter, wDown, nullptr, y.data(), hidden, m,
                 hidden, inter);
    for (int64_t i = 0; i < m; ++i) {
      auto [t, k] = picks[i];
      float w = mix.data[t * topK + k];
      float *dst = out.data.data() + t * hidden;
      const float *src = y.data() + i * hidden;
      for (int64_t j = 0; j < hidden; ++j)
        dst[j] += src[j] * w;
    }
  }
}


/// phi.linear / phi.lm_head of a phiq.quantize_activation: the input
/// rounded to uint8 with one scale and zero point for the whole call (all
/// rows, even when only the last row of each `lastEvery` tokens is
/// multiplied, as a graph computing every row would), then integer sums
/// against a QDQ8_CHANNEL weight's codes (ORT's MatMulInteger), or against
/// a float weight the dequantized codes.
void quantizedLinear(mlir::phiq_ir::QuantizeActivationOp op,
                     const Executor::Int8Rows *codes, const float *floatWeight,
                     const Buffer &in, Buffer &out, int64_t lastEvery) {
  namespace q = ::phiq::quant;
  q::ActivationQuantParams params;
  if (op.isDynamic()) {
    params = q::dynamicQuantParamsU8(in.data);
  } else {
    params.scale = op.getScaleAttr().getValue().convertToFloat();
    params.zeroPoint = int32_t(op.getZeroPointAttr().getInt());
  }
  const int64_t k = in.cols, n = out.cols, rows = out.rows;
  std::vector<uint8_t> a(size_t(rows * k));
  for (int64_t r = 0; r < rows; ++r) {
    const int64_t src = lastEvery ? (r + 1) * lastEvery - 1 : r;
    q::quantizeU8(llvm::ArrayRef<float>(in.data.data() + src * k, size_t(k)),
                  params, llvm::MutableArrayRef<uint8_t>(a.data() + r * k,
                                                         size_t(k)));
  }
  if (codes) {
    parallelFor(n, 16, [&](int64_t begin, int64_t end) {
      q::matmulU8S8(a.data(), rows, k, params,
                    codes->codes.data() + begin * k,
                    codes->scales.data() + begin, end - begin,
                    out.data.data() + begin, n);
    });
    return;
  }
  std::vector<float> x(a.size());
  for (size_t i = 0; i < a.size(); ++i)
    x[i] = float(int32_t(a[i]) - params.zeroPoint) * params.scale;
  matmulTransB(x.data(), k, floatWeight, nullptr, out.data.data(), n, rows, n,
               k);
}

} // namespace

KVCache::KVCache(const Executor &executor) {
  for (AttentionOp op : executor.attentionOps) {
    Layer layer;
    layer.kvDim = op.getNumKvHeads() * op.getHeadDim();
    layers.push_back(std::move(layer));
  }
}

llvm::Expected<std::unique_ptr<Executor>> Executor::create(ModelOp model,
                                                           Options options) {
  std::unique_ptr<Executor> exec(new Executor(model));
  exec->options = options;
  exec->vocab = model.getConfig().getVocabSize();
  Error error = Error::success();
  (void)!!error;
  model.walk([&](Operation *op) -> WalkResult {
    if (auto weight = dyn_cast<WeightOp>(op)) {
      std::vector<float> &out = exec->weights[weight.getResult()];
      if (isa<ParamAttr>(weight.getValue())) {
        auto tensor = resolveParam(weight);
        if (!tensor) {
          error = opError(op, llvm::toString(tensor.takeError()));
          return WalkResult::interrupt();
        }
        out.resize((*tensor)->numElements());
        phiq::params::convertToF32((*tensor)->dtype, (*tensor)->data.data(),
                                   out.data(), int64_t(out.size()));
      } else if (auto elements = dyn_cast<ElementsAttr>(weight.getValue())) {
        if (Error e = copyElements(op, elements, out)) {
          error = std::move(e);
          return WalkResult::interrupt();
        }
      }
    } else if (isa<mlir::phiq_ir::PackedWeightOp, mlir::phiq_ir::QuantizeOp>(
                   op)) {
      // Blocks are decoded once, exactly as llama.cpp decodes them;
      // phiq.dequantize and phiq.linear both read the decoded copy. A
      // deferred quantization is packed first, so the model computes with
      // exactly the blocks a writer would emit.
      auto blocksType = cast<mlir::phiq_ir::BlocksType>(op->getResult(0).getType());
      std::vector<uint8_t> packedHere;
      ArrayRef<uint8_t> blocks;
      auto planar = dyn_cast<mlir::phiq_ir::PackedWeightOp>(op);
      if (planar && planar.isPlanar()) {
        // MatMulNBits' own layout (an imported ONNX file): three tensors.
        std::vector<float> &out = exec->weights[op->getResult(0)];
        if (Error e = mlir::phiq_ir::decodePlanarWeight(planar, out)) {
          error = opError(op, llvm::toString(std::move(e)));
          return WalkResult::interrupt();
        }
      } else if (auto packed = dyn_cast<mlir::phiq_ir::PackedWeightOp>(op)) {
        auto tensor = resolveParam(packed.getBytes(), op);
        if (!tensor) {
          error = opError(op, llvm::toString(tensor.takeError()));
          return WalkResult::interrupt();
        }
        blocks = (*tensor)->data;
      } else {
        packedHere.resize(static_cast<size_t>(blocksType.getTotalBytes()));
        if (Error e = mlir::phiq_ir::packWeight(
                cast<mlir::phiq_ir::QuantizeOp>(op), packedHere)) {
          error = opError(op, llvm::toString(std::move(e)));
          return WalkResult::interrupt();
        }
        blocks = packedHere;
      }
      if (!blocks.empty()) {
        std::vector<float> &out = exec->weights[op->getResult(0)];
        out.resize(
            size_t(blocksType.getNumRows() * blocksType.getRowLength()));
        ::phiq::quant::dequantize(blocksType.getScheme().getBlockFormat(),
                                  blocks, blocksType.getNumRows(),
                                  blocksType.getRowLength(), out);
        if (blocksType.getScheme().getBlockFormat() ==
            ::phiq::quant::BlockFormat::QDQ8_CHANNEL) {
          // Rows of {f32 scale; int8 codes}: kept apart for integer sums.
          const int64_t rowsN = blocksType.getNumRows(),
                        cols = blocksType.getRowLength();
          Int8Rows &rows = exec->int8Weights[op->getResult(0)];
          rows.codes.resize(size_t(rowsN * cols));
          rows.scales.resize(size_t(rowsN));
          for (int64_t r = 0; r < rowsN; ++r) {
            const uint8_t *row = blocks.data() + r * (cols + 4);
            std::memcpy(&rows.scales[size_t(r)], row, 4);
            std::memcpy(rows.codes.data() + r * cols, row + 4, size_t(cols));
          }
        }
      }
    } else if (auto attn = dyn_cast<AttentionOp>(op)) {
      exec->attentionIndex[op] = exec->attentionOps.size();
      exec->attentionOps.push_back(attn);
    } else if (auto route = dyn_cast<MoeRouteOp>(op)) {
      exec->routeIndex[op] = exec->routing.size();
      exec->routing.push_back(std::vector<int64_t>(
          size_t(featuresOf(route.getLogits())), 0));
    } else if (auto experts = dyn_cast<MoeExpertsOp>(op)) {
      // Each token runs top_k experts' three projections.
      int64_t topK = featuresOf(experts.getWeights());
      exec->flopsPerToken += topK * 3 * 2 * featuresOf(experts.getInput()) *
                             experts.getIntermediateSize();
    }
    for (Value operand : op->getOperands()) {
      exec->lastUser[operand] = op;
      // A linear reads the float input of its activation quantization.
      if (auto qa = operand.getDefiningOp<mlir::phiq_ir::QuantizeActivationOp>())
        exec->lastUser[qa.getInput()] = op;
    }
    if (isa<LinearOp, LmHeadOp, mlir::phiq_ir::LinearOp>(op)) {
      exec->flopsPerToken +=
          2 * featuresOf(op->getOperand(0)) * featuresOf(op->getResult(0));
    }
    return WalkResult::advance();
  });
  if (error)
    return std::move(error);
  return exec;
}

Error Executor::forward(ArrayRef<int32_t> tokens, int64_t batch,
                        int64_t newTokens, MutableArrayRef<KVCache> caches,
                        std::vector<float> &logits, bool lastOnly) {
  if (batch <= 0 || newTokens <= 0 ||
      int64_t(tokens.size()) != batch * newTokens)
    return llvm::createStringError(llvm::formatv(
        "expected {0} x {1} token ids, got {2}", batch, newTokens,
        tokens.size()));
  if (int64_t(caches.size()) != batch)
    return llvm::createStringError("one KV cache per sequence is needed");
  const int64_t past = caches[0].length();
  for (KVCache &cache : caches)
    if (cache.length() != past || cache.layers.size() != attentionOps.size())
      return llvm::createStringError(
          "KV caches must belong to this model and hold the same number of "
          "tokens");
  for (int32_t id : tokens)
    if (id < 0 || id >= vocab)
      return llvm::createStringError(llvm::formatv(
          "token id {0} is outside the vocabulary [0, {1})", id, vocab));

  // transformers' Phi3 drops the cache the first time generation passes the
  // original context of a longrope model and recomputes everything with the
  // long factors; do the same so that cached keys never mix the two.
  if (std::optional<int64_t> original = longRopeOriginalContext();
      original && past > 0 && past <= *original &&
      past + newTokens > *original) {
    std::vector<int32_t> all;
    for (int64_t b = 0; b < batch; ++b) {
      all.insert(all.end(), caches[b].tokens.begin(), caches[b].tokens.end());
      all.insert(all.end(), tokens.begin() + b * newTokens,
                 tokens.begin() + (b + 1) * newTokens);
    }
    for (KVCache &cache : caches)
      cache.clear();
    const int64_t total = past + newTokens;
    std::vector<float> allLogits;
    if (Error e = forward(all, batch, total, caches, allLogits, lastOnly))
      return e;
    if (lastOnly) {
      logits = std::move(allLogits);
    } else {
      // Keep the rows of the new tokens only.
      logits.resize(size_t(batch * newTokens * vocab));
      for (int64_t b = 0; b < batch; ++b)
        std::memcpy(logits.data() + b * newTokens * vocab,
                    allLogits.data() + (b * total + past) * vocab,
                    sizeof(float) * newTokens * vocab);
    }
    return Error::success();
  }

  const int64_t rows = batch * newTokens;
  llvm::DenseMap<Value, Buffer> values;
  auto alloc = [&](Value v, int64_t r) -> Buffer & {
    Buffer &b = values[v];
    b.rows = r;
    b.cols = featuresOf(v);
    b.data.resize(size_t(r * b.cols));
    return b;
  };
  auto weight = [&](Value v) -> const float * {
    if (!v)
      return nullptr;
    // A dequantized weight reads the decoded copy of its packed input.
    if (auto dequantize = v.getDefiningOp<mlir::phiq_ir::DequantizeOp>())
      v = dequantize.getInput();
    return weights.find(v)->second.data();
  };

  Block &body = model.getBody().front();
  for (Operation &opRef : body) {
    Operation *op = &opRef;
    // Activation quantization happens inside the linear that reads it.
    if (isa<WeightOp, mlir::phiq_ir::PackedWeightOp, mlir::phiq_ir::QuantizeOp,
            mlir::phiq_ir::DequantizeOp, mlir::phiq_ir::QuantizeActivationOp>(
            op))
      continue;
    if (isa<EmbeddingOp, mlir::phiq_ir::EmbeddingOp>(op)) {
      Buffer &out = alloc(op->getResult(0), rows);
      const float *table = weight(op->getOperand(1));
      for (int64_t r = 0; r < rows; ++r)
        std::memcpy(out.row(r), table + int64_t(tokens[r]) * out.cols,
                    sizeof(float) * out.cols);
    } else if (auto norm = dyn_cast<RmsNormOp>(op)) {
      Buffer &in = values[norm.getInput()];
      Buffer &out = alloc(norm.getResult(), in.rows);
      rmsNorm(in.data.data(), weight(norm.getWeight()), out.data.data(),
              in.rows, in.cols, float(norm.getEpsilon().convertToDouble()));
      if (const float *bias = weight(norm.getBias()))
        for (int64_t r = 0; r < in.rows; ++r)
          add(out.row(r), bias, out.row(r), out.cols);
    } else if (auto norm = dyn_cast<LayerNormOp>(op)) {
      Buffer &in = values[norm.getInput()];
      Buffer &out = alloc(norm.getResult(), in.rows);
      layerNorm(in.data.data(), weight(norm.getWeight()),
                weight(norm.getBias()), out.data.data(), in.rows, in.cols,
                float(norm.getEpsilon().convertToDouble()));
    } else if (isa<LinearOp, LmHeadOp, mlir::phiq_ir::LinearOp>(op)) {
      Value input = op->getOperand(0), w = op->getOperand(1);
      Value bias = op->getNumOperands() > 2 ? op->getOperand(2) : Value();
      auto quantized =
          input.getDefiningOp<mlir::phiq_ir::QuantizeActivationOp>();
      if (quantized)
        input = quantized.getInput();
      Buffer &in = values[input];
      if (linearInputObserver) {
        Value observed = w;
        if (auto dequantize = w.getDefiningOp<mlir::phiq_ir::DequantizeOp>())
          observed = dequantize.getInput();
        linearInputObserver(observed, -1, in.data, in.rows, in.cols);
      }
      bool onlyLast = lastOnly && isa<LmHeadOp>(op);
      Buffer &out = alloc(op->getResult(0), onlyLast ? batch : in.rows);
      if (quantized) {
        Value packed = w;
        if (auto dequantize = w.getDefiningOp<mlir::phiq_ir::DequantizeOp>())
          packed = dequantize.getInput();
        auto codes = int8Weights.find(packed);
        quantizedLinear(quantized,
                        codes == int8Weights.end() ? nullptr : &codes->second,
                        weight(w), in, out, onlyLast ? newTokens : 0);
        if (const float *b = weight(bias))
          for (int64_t r = 0; r < out.rows; ++r)
            add(out.row(r), b, out.row(r), out.cols);
        for (Value operand : op->getOperands())
          if (lastUser.lookup(operand) == op)
            values.erase(operand);
        if (lastUser.lookup(input) == op)
          values.erase(input);
        continue;
      }
      // llama.cpp arithmetic: multiply rounded copies of the activations.
      Buffer rounded;
      if (options.llamaCppArithmetic &&
          storageFormat(w) != ::phiq::quant::BlockFormat::F32) {
        rounded = in;
        ::phiq::quant::roundActivationsLikeLlamaCpp(
            storageFormat(w), rounded.data.data(), rounded.rows, rounded.cols);
      }
      Buffer &a = rounded.data.empty() ? in : rounded;
      if (onlyLast) {
        // Only the last token of each sequence needs logits.
        for (int64_t b = 0; b < batch; ++b)
          matmulTransB(a.row((b + 1) * newTokens - 1), a.cols, weight(w),
                       weight(bias), out.row(b), out.cols, 1, out.cols,
                       a.cols);
      } else {
        matmulTransB(a.data.data(), a.cols, weight(w), weight(bias),
                     out.data.data(), out.cols, a.rows, out.cols, a.cols);
      }
    } else if (auto split = dyn_cast<SplitOp>(op)) {
      Buffer &in = values[split.getInput()];
      int64_t offset = 0;
      for (Value part : split.getResults()) {
        Buffer &out = alloc(part, in.rows);
        for (int64_t r = 0; r < in.rows; ++r)
          std::memcpy(out.row(r), in.row(r) + offset,
                      sizeof(float) * out.cols);
        offset += out.cols;
      }
    } else if (auto attn = dyn_cast<AttentionOp>(op)) {
      const int64_t heads = attn.getNumHeads(), kvHeads = attn.getNumKvHeads(),
                    headDim = attn.getHeadDim(), kvDim = kvHeads * headDim;
      RopeAttr rope = attn.getRope();
      // transformers picks the longrope factors from the highest position
      // of the forward pass.
      llvm::SmallVector<float> invFreq;
      rope.computeInvFreq(past + newTokens - 1, invFreq);
      float cosSinScale = float(rope.getCosSinScale(past + newTokens - 1));
      int64_t window = attn.getSlidingWindow()
                           ? int64_t(*attn.getSlidingWindow())
                           : INT64_MAX;
      Buffer &q = values[attn.getQuery()];
      Buffer &k = values[attn.getKey()];
      Buffer &v = values[attn.getValue()];
      Buffer &out = alloc(attn.getResult(), rows);
      unsigned layer = attentionIndex.lookup(op);
      for (int64_t b = 0; b < batch; ++b) {
        // Every sequence's new tokens sit at positions past .. past+T-1.
        applyRotary(q.row(b * newTokens), q.cols, newTokens, heads, headDim,
                    rope.getRotaryDim(), invFreq.data(), cosSinScale, past);
        KVCache::Layer &cache = caches[b].layers[layer];
        size_t need = size_t((past + newTokens) * kvDim);
        if (cache.keys.size() < need) {
          size_t capacity = std::max(need, cache.keys.size() * 2);
          cache.keys.resize(capacity);
          cache.values.resize(capacity);
        }
        float *kDst = cache.keys.data() + past * kvDim;
        float *vDst = cache.values.data() + past * kvDim;
        for (int64_t t = 0; t < newTokens; ++t) {
          std::memcpy(kDst + t * kvDim, k.row(b * newTokens + t),
                      sizeof(float) * kvDim);
          std::memcpy(vDst + t * kvDim, v.row(b * newTokens + t),
                      sizeof(float) * kvDim);
        }
        applyRotary(kDst, kvDim, newTokens, kvHeads, headDim,
                    rope.getRotaryDim(), invFreq.data(), cosSinScale, past);
        if (options.llamaCppArithmetic) {
          // llama.cpp keeps K and V in an fp16 cache and multiplies them
          // with fp16 copies of the queries and of the probabilities.
          ::phiq::quant::roundActivationsLikeLlamaCpp(
              ::phiq::quant::BlockFormat::F16, kDst, newTokens, kvDim);
          ::phiq::quant::roundActivationsLikeLlamaCpp(
              ::phiq::quant::BlockFormat::F16, vDst, newTokens, kvDim);
          attentionLikeLlamaCpp(q.row(b * newTokens), q.cols,
                                cache.keys.data(), cache.values.data(), kvDim,
                                out.row(b * newTokens), out.cols, newTokens,
                                past, heads, kvHeads, headDim,
                                float(attn.getSoftmaxScale()), window);
          continue;
        }
        attention(q.row(b * newTokens), q.cols, cache.keys.data(),
                  cache.values.data(), kvDim, out.row(b * newTokens), out.cols,
                  newTokens, past, heads, kvHeads, headDim,
                  float(attn.getSoftmaxScale()), window);
      }
    } else if (auto route = dyn_cast<MoeRouteOp>(op)) {
      Buffer &in = values[route.getLogits()];
      int64_t topK = route.getTopK();
      Buffer &w = alloc(route.getWeights(), in.rows);
      Buffer &idx = values[route.getIndices()];
      idx.rows = in.rows;
      idx.cols = topK;
      idx.ints.resize(size_t(in.rows * topK));
      if (route.getRouting() == Routing::SparseMixer)
        routeSparseMixer(in.data.data(), in.rows, in.cols,
                         route.getJitterEps()->convertToDouble(),
                         w.data.data(), idx.ints.data());
      else
        routeSoftmaxTopK(in.data.data(), in.rows, in.cols, topK,
                         route.getNormalize(), w.data.data(), idx.ints.data());
      std::vector<int64_t> &counts = routing[routeIndex.lookup(op)];
      for (int32_t e : idx.ints)
        ++counts[e];
      if (routingObserver)
        routingObserver(routeIndex.lookup(op), idx.ints, in.rows, topK);
    } else if (auto experts = dyn_cast<MoeExpertsOp>(op)) {
      Buffer &out = alloc(experts.getResult(), rows);
      runExperts(experts, weights, values[experts.getInput()],
                 values[experts.getWeights()], values[experts.getIndices()],
                 out, options.llamaCppArithmetic, linearInputObserver);
    } else if (auto glu = dyn_cast<GluOp>(op)) {
      Buffer &in = values[glu.getInput()];
      Buffer &out = alloc(glu.getResult(), in.rows);
      siluGate(in.data.data(), out.data.data(), in.rows, out.cols);
    } else if (auto addOp = dyn_cast<AddOp>(op)) {
      Buffer &a = values[addOp.getLhs()];
      Buffer &b = values[addOp.getRhs()];
      Buffer &out = alloc(addOp.getResult(), a.rows);
      add(a.data.data(), b.data.data(), out.data.data(), a.rows * a.cols);
    } else if (auto output = dyn_cast<OutputOp>(op)) {
      Buffer &result = values[output.getLogits()];
      logits = std::move(result.data);
    } else {
      return opError(op, "the reference executor does not run this op");
    }
    // Free activations nobody reads any more: peak memory stays at a few
    // layers' worth however deep the model is.
    for (Value operand : op->getOperands())
      if (lastUser.lookup(operand) == op)
        values.erase(operand);
  }
  for (int64_t b = 0; b < batch; ++b) {
    caches[b].len = past + newTokens;
    caches[b].tokens.insert(caches[b].tokens.end(),
                            tokens.begin() + b * newTokens,
                            tokens.begin() + (b + 1) * newTokens);
  }
  return Error::success();
}

std::optional<int64_t> Executor::longRopeOriginalContext() const {
  for (AttentionOp op : attentionOps) {
    RopeAttr rope = op.getRope();
    if (rope.getKind() == RopeKind::LongRope)
      return rope.getOriginalMaxPositions();
  }
  return std::nullopt;
}
