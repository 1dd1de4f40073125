//===- ExportONNX.cpp - phi IR to an ONNX Runtime GenAI folder ---*- C++ -*-===//
//
// Translates a phi.model op by op into an ONNX decoder with the inputs and
// outputs ONNX Runtime GenAI drives (input_ids, attention_mask,
// position_ids, past_key_values.N.key/value -> logits, present.N.key/value),
// and writes it with genai_config.json and the tokenizer into a folder.
//
// Weights: float matrices are stored as in the checkpoint ([out, in],
// under their checkpoint names) in the activation type and transposed by a
// Transpose node that ONNX Runtime folds; linears in MatMulNBits' own
// formats (--phiq-quantize-onnx) and in Q4_0 / Q8_0 become
// com.microsoft.MatMulNBits with bit-identical weights, QDQ8_CHANNEL ones
// (qdq=true) int8 behind DequantizeLinear(axis=0) (deferred
// phiq.quantize weights are packed on the fly); a tied lm_head reads
// the embedding table itself through Gemm(transB) instead of a second copy.
// Every weight is read, converted and appended to model.onnx.data one
// tensor at a time.
//
// Precision: fp32 computes exactly what phi-run computes. fp16 stores the
// weights, activations and KV cache in fp16 (the usual ORT GenAI fp16
// model) but keeps norms and softmax in fp32, whose sums would overflow
// fp16 on real hidden states; logits are returned as fp32 either way.
//
//===----------------------------------------------------------------------===//
#include "phiq/Target/ONNX/ExportONNX.h"

#include "AttentionLowering.h"
#include "ExternalData.h"
#include "GenAIConfig.h"
#include "GraphBuilder.h"
#include "MLXWeights.h"
#include "MoeLowering.h"
#include "Weights.h"

#include "dialects/Phi/PhiOps.h"
#include "dialects/PhiQ/PhiQOps.h"

#include "llvm/ADT/DenseMap.h"
#include "llvm/ADT/ScopeExit.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Path.h"

#include <fstream>

using namespace mlir;
using namespace mlir::phi;
using namespace phiq::onnx;
namespace quant = ::phiq::quant;
using llvm::Error;
using llvm::Expected;

namespace {

constexpr int32_t kFloat = ::onnx::TensorProto_DataType_FLOAT;
constexpr int32_t kFloat16 = ::onnx::TensorProto_DataType_FLOAT16;
constexpr int32_t kBFloat16 = ::onnx::TensorProto_DataType_BFLOAT16;
constexpr int32_t kInt64 = ::onnx::TensorProto_DataType_INT64;
constexpr int32_t kUInt8 = ::onnx::TensorProto_DataType_UINT8;
constexpr int32_t kInt8 = ::onnx::TensorProto_DataType_INT8;
/// ai.onnx opset 17 has LayerNormalization, Split with a `split` input and
/// Unsqueeze with an `axes` input; contrib ops are com.microsoft version 1.
constexpr int64_t kOnnxOpset = 17;
constexpr int64_t kMicrosoftOpset = 1;

Error fail(const llvm::Twine &message) {
  return llvm::createStringError(message);
}

bool isFloatFormat(quant::BlockFormat f) {
  return f == quant::BlockFormat::F32 || f == quant::BlockFormat::F16 ||
         f == quant::BlockFormat::BF16;
}

/// The translation of one phi.model into a GraphProto.
class DecoderEmitter {
public:
  DecoderEmitter(ModelOp model, GraphBuilder &builder, int32_t act,
                 const ExportOptions &options)
      : model(model), b(builder), act(act), options(options),
        attention(builder, act,
                  {"input_ids", "attention_mask", "position_ids"}) {}

  Error emit();

private:
  Error emitOp(Operation *op);
  Expected<std::string> linear(Operation *op, Value input, Value weight,
                               Value bias);
  /// x W^T for a phiq.quantize_activation input and a QDQ8_CHANNEL weight:
  /// (Dynamic)QuantizeLinear, MatMulInteger, then the float rescale.
  Expected<std::string> integerLinear(Operation *op,
                                      mlir::phiq_ir::QuantizeActivationOp input,
                                      Operation *data);
  /// x times the transpose of `weight` ([out, in]) as `op` reads it:
  /// MatMulNBits, DequantizeLinear + MatMul, or a float MatMul.
  Expected<std::string> product(Operation *op, const std::string &x,
                                Value weight);
  /// x times the transpose of matrix `expert` of a stacked [E, out, in]
  /// weight, as a float MatMul on its slice (PhiMoE's checkpoints give
  /// per-expert matrices, which go through product()).
  Expected<std::string> expertProduct(const std::string &x, Value weight,
                                      int64_t expert);
  /// The initializer holding `weight` as floats of `type`, in its own
  /// layout.
  Expected<std::string> floatWeight(Value weight, int32_t type);
  bool feedsEmbedding(Operation *dataOp);
  std::string toFloat(const std::string &x);
  std::string toAct(const std::string &x);
  std::string scopeOf(Operation *op);

  ModelOp model;
  GraphBuilder &b;
  int32_t act;
  const ExportOptions &options;
  AttentionLowering attention;
  llvm::DenseMap<Value, std::string> names;
  llvm::DenseMap<Value, RoutedExperts> routes; // by moe_route weights
  std::map<std::pair<Operation *, int>, std::string> weightNames;
  unsigned layer = 0, inlineWeights = 0;
};

std::string DecoderEmitter::toFloat(const std::string &x) {
  if (act == kFloat)
    return x;
  return b.add("Cast", {x}).attr("to", int64_t(kFloat));
}

std::string DecoderEmitter::toAct(const std::string &x) {
  if (act == kFloat)
    return x;
  return b.add("Cast", {x}).attr("to", int64_t(act));
}

std::string DecoderEmitter::scopeOf(Operation *op) {
  return "/model/layers." + std::to_string(layer) + "/" +
         op->getName().stripDialect().str();
}

bool DecoderEmitter::feedsEmbedding(Operation *dataOp) {
  for (Value result : dataOp->getResults())
    for (Operation *user : result.getUsers()) {
      if (isa<EmbeddingOp, mlir::phiq_ir::EmbeddingOp>(user))
        return true;
      if (auto dq = dyn_cast<mlir::phiq_ir::DequantizeOp>(user))
        for (Operation *u : dq.getResult().getUsers())
          if (isa<EmbeddingOp>(u))
            return true;
    }
  return false;
}

Expected<std::string> DecoderEmitter::floatWeight(Value weight,
                                                  int32_t type) {
  Operation *data = weightDataOp(weight);
  auto key = std::make_pair(data, int(type));
  auto it = weightNames.find(key);
  if (it != weightNames.end())
    return it->second;
  ArrayRef<int64_t> shape = weightShape(data);
  auto floats = readWeightAsFloats(data);
  if (!floats)
    return floats.takeError();
  SmallVector<int64_t> dims(shape);
  std::string name = weightName(data);
  if (name == "inline weight")
    name = "weight_" + std::to_string(inlineWeights++);
  if (type != act)
    name += type == kFloat ? ".fp32" : ".fp16";
  // A BF16 weight (--phiq-quantize-weights="type=BF16") stays bf16 in the
  // file behind a Cast to the compute type: ONNX Runtime's CPU provider
  // has no bf16 MatMul, Add, Mul or Softmax, but Cast, Gather, Transpose
  // and Reshape do run in bf16, and the Cast of a constant is folded at
  // load. bf16 widens exactly to fp32 (and fp16 cannot hold it), so this
  // is only for fp32 compute.
  std::optional<quant::BlockFormat> format = packedFormat(data);
  if (format == quant::BlockFormat::BF16 && type == kFloat) {
    std::string stored = name + ".bf16";
    if (Error e = b.addWeight(stored, kBFloat16, dims,
                              encodeFloats(*floats, kBFloat16)))
      return std::move(e);
    name = b.add("Cast", {stored}).attr("to", int64_t(kFloat));
  } else if (Error e =
                 b.addWeight(name, type, dims, encodeFloats(*floats, type))) {
    return std::move(e);
  }
  weightNames[key] = name;
  return name;
}

Expected<std::string>
DecoderEmitter::integerLinear(Operation *op,
                              mlir::phiq_ir::QuantizeActivationOp quantized,
                              Operation *data) {
  std::optional<quant::BlockFormat> format = packedFormat(data);
  if (format != quant::BlockFormat::QDQ8_CHANNEL ||
      weightShape(data).size() != 2)
    return fail("'" + scopeOf(op) + "': quantized activations need an int8 "
                "per-channel weight (--phiq-quantize-onnx=\"bits=8 qdq=true\"), "
                "but weight '" + weightName(data) + "' is not one");
  if (act != kFloat)
    return fail("'" + scopeOf(op) + "': quantized activations are exported "
                "from fp32 activations only (DynamicQuantizeLinear and "
                "QuantizeLinear read float)");
  // MatMulInteger's B is [K, N]. The codes are stored as uint8 with zero
  // point 128 (the same integers as int8 with zero point 0): ORT's u8 x s8
  // kernel on CPUs without VNNI sums pairs of products in saturating int16
  // (255 * 127 * 2 overflows), its u8 x u8 kernel widens first and is exact.
  const int64_t rows = weightShape(data)[0], cols = weightShape(data)[1];
  std::string base = weightName(data);
  std::string qweight = base + ".u8_t", scales = base + ".w_scale",
              zeroPoints = base + ".w_zero_point";
  auto key = std::make_pair(data, -3);
  if (!weightNames.count(key)) {
    auto split = splitQDQChannel(data);
    if (!split)
      return split.takeError();
    std::vector<uint8_t> transposed(size_t(rows * cols));
    for (int64_t r = 0; r < rows; ++r)
      for (int64_t c = 0; c < cols; ++c)
        transposed[size_t(c * rows + r)] =
            uint8_t(int32_t(int8_t(split->codes[size_t(r * cols + c)])) + 128);
    if (Error e = b.addWeight(qweight, kUInt8, {cols, rows}, transposed))
      return std::move(e);
    if (Error e = b.addWeight(scales, kFloat, {rows},
                              encodeFloats(split->scales, kFloat)))
      return std::move(e);
    if (Error e = b.addWeight(zeroPoints, kUInt8, {rows},
                              std::vector<uint8_t>(size_t(rows), 128)))
      return std::move(e);
    weightNames[key] = qweight;
  }
  std::string x = names.lookup(quantized.getInput());
  std::string xq, xScale, xZeroPoint;
  if (quantized.isDynamic()) {
    Node node = b.add("DynamicQuantizeLinear", {x}, 3);
    xq = node.out(0);
    xScale = node.out(1);
    xZeroPoint = node.out(2);
  } else {
    xScale = b.constScalar(quantized.getScaleAttr().getValue().convertToFloat(),
                           kFloat);
    xZeroPoint = base + ".x_zero_point";
    if (Error e = b.addWeight(
            xZeroPoint, kUInt8, {},
            {uint8_t(quantized.getZeroPointAttr().getInt())}))
      return std::move(e);
    xq = b.add("QuantizeLinear", {x, xScale, xZeroPoint});
  }
  std::string sums =
      b.add("MatMulInteger", {xq, qweight, xZeroPoint, zeroPoints});
  std::string scale = b.add("Mul", {xScale, scales});
  return b.add("Mul", {b.add("Cast", {sums}).attr("to", int64_t(kFloat)),
                       scale});
}

Expected<std::string> DecoderEmitter::linear(Operation *op, Value input,
                                             Value weight, Value bias) {
  Expected<std::string> y = std::string();
  if (auto quantized =
          input.getDefiningOp<mlir::phiq_ir::QuantizeActivationOp>())
    y = integerLinear(op, quantized, weightDataOp(weight));
  else
    y = product(op, names.lookup(input), weight);
  if (!y)
    return y.takeError();
  if (bias) {
    auto bv = floatWeight(bias, act);
    if (!bv)
      return bv.takeError();
    return std::string(b.add("Add", {*y, *bv}));
  }
  return y;
}

Expected<std::string> DecoderEmitter::product(Operation *op,
                                              const std::string &x,
                                              Value weight) {
  Operation *data = weightDataOp(weight);
  std::optional<quant::BlockFormat> format = packedFormat(data);
  std::string y;
  if (std::optional<NBitsShape> nbits = nbitsShape(data)) {
    auto key = std::make_pair(data, -1);
    std::string qweight = weightName(data) + ".qweight";
    std::string scales = weightName(data) + ".scales";
    std::string zeroPoints = weightName(data) + ".zero_points";
    const int64_t blocks = nbits->blocksPerRow();
    if (!weightNames.count(key)) {
      // One tensor's blocks at a time (a deferred weight is packed here).
      auto repacked = repackForMatMulNBits(data);
      if (!repacked)
        return repacked.takeError();
      if (Error e = b.addWeight(qweight, kUInt8,
                                {nbits->n, blocks,
                                 nbits->blockSize * nbits->bits / 8},
                                repacked->codes))
        return std::move(e);
      // MatMulNBits takes scales in A's type: exact for fp16 scales and
      // fp32 activations, rounded for fp32 scales in an fp16 graph.
      if (Error e = b.addWeight(scales, act, {nbits->n * blocks},
                                encodeFloats(repacked->scales, act)))
        return std::move(e);
      if (nbits->hasZeroPoints)
        if (Error e = b.addWeight(zeroPoints, kUInt8,
                                  {nbits->n * nbits->zeroPointRowBytes()},
                                  repacked->zeroPoints))
          return std::move(e);
      weightNames[key] = qweight;
    }
    // Without a zero_points input MatMulNBits uses 2^(bits-1): the
    // symmetric formats' implicit zero point, Q4_0's 8 and Q8_0's signed
    // codes shifted by 128.
    std::vector<std::string> inputs = {x, qweight, scales};
    if (nbits->hasZeroPoints)
      inputs.push_back(zeroPoints);
    y = b.add("MatMulNBits", inputs, 1, "com.microsoft")
            .attr("K", nbits->k)
            .attr("N", nbits->n)
            .attr("bits", nbits->bits)
            .attr("block_size", nbits->blockSize)
            .attr("accuracy_level", options.accuracyLevel);
  } else if (format == quant::BlockFormat::QDQ8_CHANNEL &&
             weightShape(data).size() == 2) {
    // QDQ per channel, as onnxruntime.quantization writes a weight: int8
    // [out, in] with one f32 scale and a zero zero point per output row,
    // DequantizeLinear(axis=0), then the float path's Transpose + MatMul.
    std::string qweight = weightName(data) + ".qdq";
    std::string scales = weightName(data) + ".qdq_scale";
    std::string zeroPoints = weightName(data) + ".qdq_zero_point";
    auto key = std::make_pair(data, -2);
    const int64_t rows = weightShape(data)[0], cols = weightShape(data)[1];
    if (!weightNames.count(key)) {
      auto split = splitQDQChannel(data);
      if (!split)
        return split.takeError();
      if (Error e = b.addWeight(qweight, kInt8, {rows, cols}, split->codes))
        return std::move(e);
      if (Error e = b.addWeight(scales, kFloat, {rows},
                                encodeFloats(split->scales, kFloat)))
        return std::move(e);
      if (Error e = b.addWeight(zeroPoints, kInt8, {rows},
                                std::vector<uint8_t>(size_t(rows), 0)))
        return std::move(e);
      weightNames[key] = qweight;
    }
    std::string w = toAct(b.add("DequantizeLinear",
                                {qweight, scales, zeroPoints})
                              .attr("axis", int64_t(0)));
    std::string wT =
        b.add("Transpose", {w}).attr("perm", ArrayRef<int64_t>{1, 0});
    y = b.add("MatMul", {x, wT});
  } else if (format && quant::mlxAffineLayout(*format) &&
             weightShape(data).size() == 2) {
    // An imported MLX folder's groups (MLXWeights.h).
    auto key = std::make_pair(data, -3);
    auto out = emitMLXMatMulNBits(b, data, x, act, weightNames.count(key),
                                  options);
    if (!out)
      return out.takeError();
    weightNames[key] = weightName(data);
    y = *out;
  } else if (format && !isFloatFormat(*format)) {
    return fail("weight '" + weightName(data) + "' is packed as " +
                quant::formatInfo(*format).name +
                ", which ONNX Runtime's MatMulNBits cannot represent "
                "exactly; quantize linear weights for ONNX with "
                "--phiq-quantize-onnx (or to Q4_0 or Q8_0, e.g. "
                "--phiq-quantize-weights=\"type=Q4_0 pure\")");
  } else if (isa<LmHeadOp>(op) && feedsEmbedding(data)) {
    // Tied embeddings: multiply by the [vocab, hidden] table itself.
    auto table = floatWeight(weight, act);
    if (!table)
      return table.takeError();
    const int64_t hidden = weightShape(data)[1], vocab = weightShape(data)[0];
    std::string rows = b.add("Reshape", {x, b.constI64({-1, hidden})});
    std::string product =
        b.add("Gemm", {rows, *table}).attr("transB", int64_t(1));
    std::string leading = b.add("Shape", {x})
                              .attr("start", int64_t(0))
                              .attr("end", int64_t(2));
    std::string shape =
        b.add("Concat", {leading, b.constI64({vocab})}).attr("axis", int64_t(0));
    y = b.add("Reshape", {product, shape});
  } else {
    // The checkpoint's [out, in] matrix under its own name, transposed by a
    // node (ONNX Runtime folds it at load), as torch.onnx.export writes a
    // Linear: the importer then maps the initializer as the phi.linear
    // weight it was, without a transposed copy.
    auto w = floatWeight(weight, act);
    if (!w)
      return w.takeError();
    std::string wT =
        b.add("Transpose", {*w}).attr("perm", ArrayRef<int64_t>{1, 0});
    y = b.add("MatMul", {x, wT});
  }
  return y;
}

Expected<std::string> DecoderEmitter::expertProduct(const std::string &x,
                                                    Value weight,
                                                    int64_t expert) {
  // The slice of the stacked tensor as floats (packed stacks are decoded),
  // transposed: ONNX Runtime folds the Gather and the Transpose at load.
  auto w = floatWeight(weight, act);
  if (!w)
    return w.takeError();
  std::string m = b.add("Gather", {*w, b.constI64({expert}, true)})
                      .attr("axis", int64_t(0));
  return std::string(b.add(
      "MatMul",
      {x, b.add("Transpose", {m}).attr("perm", ArrayRef<int64_t>{1, 0})}));
}

Error DecoderEmitter::emitOp(Operation *op) {
  if (isa<WeightOp, mlir::phiq_ir::PackedWeightOp, mlir::phiq_ir::QuantizeOp,
          mlir::phiq_ir::DequantizeOp, mlir::phiq_ir::QuantizeActivationOp>(
          op))
    return Error::success(); // read where used
  b.setScope(scopeOf(op));
  if (isa<EmbeddingOp, mlir::phiq_ir::EmbeddingOp>(op)) {
    b.setScope("/model/embed_tokens");
    Operation *data = weightDataOp(op->getOperand(1));
    if (std::optional<NBitsShape> nbits = nbitsShape(data)) {
      // A table in MatMulNBits blocks stays packed: GatherBlockQuantized
      // decodes (q - zp) * scale per looked-up row, the formula phi-run
      // decodes the table with. Its uint8 data is MatMulNBits' B viewed as
      // [vocab, hidden * bits / 8]; zero points (packed the same way) are
      // given only when stored (the default is 2^(bits-1), the symmetric
      // formats' and Q4_0 / Q8_0's implicit one).
      auto repacked = repackForMatMulNBits(data);
      if (!repacked)
        return repacked.takeError();
      const int64_t blocks = nbits->blocksPerRow();
      std::string base = weightName(data) + ".gather";
      if (Error e = b.addWeight(base + ".data", kUInt8,
                                {nbits->n, nbits->k * nbits->bits / 8},
                                repacked->codes))
        return e;
      if (Error e = b.addWeight(base + ".scales", act, {nbits->n, blocks},
                                encodeFloats(repacked->scales, act)))
        return e;
      std::vector<std::string> inputs = {base + ".data",
                                         names.lookup(op->getOperand(0)),
                                         base + ".scales"};
      if (nbits->hasZeroPoints) {
        if (Error e = b.addWeight(base + ".zero_points", kUInt8,
                                  {nbits->n, nbits->zeroPointRowBytes()},
                                  repacked->zeroPoints))
          return e;
        inputs.push_back(base + ".zero_points");
      }
      names[op->getResult(0)] =
          b.add("GatherBlockQuantized", inputs, 1, "com.microsoft")
              .attr("bits", nbits->bits)
              .attr("block_size", nbits->blockSize)
              .attr("gather_axis", int64_t(0))
              .attr("quantize_axis", int64_t(1));
      return Error::success();
    }
    // Other packed tables are decoded to floats: Gather needs plain rows,
    // and the decoded values are exactly the ones phi-run looks up.
    auto table = floatWeight(op->getOperand(1), act);
    if (!table)
      return table.takeError();
    names[op->getResult(0)] =
        b.add("Gather", {*table, names.lookup(op->getOperand(0))})
            .attr("axis", int64_t(0));
    return Error::success();
  }
  if (auto norm = dyn_cast<RmsNormOp>(op)) {
    // phi-run: y = w * (x * (1 / sqrt(mean(x^2) + eps))) (+ b), in fp32.
    std::string x = toFloat(names.lookup(norm.getInput()));
    std::string meanSquare =
        b.add("ReduceMean", {b.add("Mul", {x, x})})
            .attr("axes", ArrayRef<int64_t>{-1})
            .attr("keepdims", int64_t(1));
    std::string eps = b.constScalar(
        float(norm.getEpsilon().convertToDouble()), kFloat);
    std::string inverse =
        b.add("Reciprocal", {b.add("Sqrt", {b.add("Add", {meanSquare, eps})})});
    auto w = floatWeight(norm.getWeight(), kFloat);
    if (!w)
      return w.takeError();
    std::string y = b.add("Mul", {*w, b.add("Mul", {x, inverse})});
    if (norm.getBias()) {
      auto bias = floatWeight(norm.getBias(), kFloat);
      if (!bias)
        return bias.takeError();
      y = b.add("Add", {y, *bias});
    }
    names[norm.getResult()] = toAct(y);
    return Error::success();
  }
  if (auto norm = dyn_cast<LayerNormOp>(op)) {
    std::string x = toFloat(names.lookup(norm.getInput()));
    auto w = floatWeight(norm.getWeight(), kFloat);
    if (!w)
      return w.takeError();
    std::vector<std::string> in = {x, *w};
    if (norm.getBias()) {
      auto bias = floatWeight(norm.getBias(), kFloat);
      if (!bias)
        return bias.takeError();
      in.push_back(*bias);
    }
    std::string y =
        b.add("LayerNormalization", in)
            .attr("axis", int64_t(-1))
            .attr("epsilon", float(norm.getEpsilon().convertToDouble()));
    names[norm.getResult()] = toAct(y);
    return Error::success();
  }
  if (isa<LinearOp, LmHeadOp, mlir::phiq_ir::LinearOp>(op)) {
    if (isa<LmHeadOp>(op))
      b.setScope("/model/lm_head");
    Value bias = op->getNumOperands() > 2 ? op->getOperand(2) : Value();
    auto y = linear(op, op->getOperand(0), op->getOperand(1), bias);
    if (!y)
      return y.takeError();
    names[op->getResult(0)] = *y;
    return Error::success();
  }
  if (auto split = dyn_cast<SplitOp>(op)) {
    SmallVector<int64_t> sizes;
    for (Value part : split.getResults())
      sizes.push_back(cast<RankedTensorType>(part.getType()).getShape().back());
    Node node = b.add("Split",
                      {names.lookup(split.getInput()), b.constI64(sizes)},
                      int(sizes.size()))
                    .attr("axis", int64_t(-1));
    for (auto [i, part] : llvm::enumerate(split.getResults()))
      names[part] = node.out(int(i));
    return Error::success();
  }
  if (auto attn = dyn_cast<AttentionOp>(op)) {
    auto y = attention.lower(attn, layer, names.lookup(attn.getQuery()),
                             names.lookup(attn.getKey()),
                             names.lookup(attn.getValue()));
    if (!y)
      return y.takeError();
    names[attn.getResult()] = *y;
    ++layer;
    return Error::success();
  }
  if (auto glu = dyn_cast<GluOp>(op)) {
    // [gate | up] -> silu(gate) * up; phi-run: up * (g / (1 + exp(-g))).
    const int64_t inter = glu.getType().getShape().back();
    Node parts = b.add("Split", {names.lookup(glu.getInput()),
                                 b.constI64({inter, inter})},
                       2)
                     .attr("axis", int64_t(-1));
    std::string gate = parts.out(0);
    std::string silu = b.add("Mul", {gate, b.add("Sigmoid", {gate})});
    names[glu.getResult()] = b.add("Mul", {parts.out(1), silu});
    return Error::success();
  }
  if (auto addOp = dyn_cast<AddOp>(op)) {
    names[addOp.getResult()] = b.add(
        "Add", {names.lookup(addOp.getLhs()), names.lookup(addOp.getRhs())});
    return Error::success();
  }
  if (auto output = dyn_cast<OutputOp>(op)) {
    b.setScope("/model/output");
    const int64_t vocab =
        cast<RankedTensorType>(output.getLogits().getType()).getShape().back();
    std::string logits = names.lookup(output.getLogits());
    if (act == kFloat)
      b.addNamed("Identity", {logits}, {"logits"});
    else
      b.addNamed("Cast", {logits}, {"logits"}).attr("to", int64_t(kFloat));
    b.addOutput("logits", kFloat,
                {std::string("batch_size"), std::string("sequence_length"),
                 vocab});
    return Error::success();
  }
  if (auto route = dyn_cast<MoeRouteOp>(op)) {
    auto routed =
        lowerMoeRoute(b, route, toFloat(names.lookup(route.getLogits())));
    if (!routed)
      return routed.takeError();
    routed->weights = toAct(routed->weights);
    routes[route.getWeights()] = *routed;
    return Error::success();
  }
  if (auto experts = dyn_cast<MoeExpertsOp>(op)) {
    auto routed = routes.find(experts.getWeights());
    if (routed == routes.end() ||
        experts.getIndices().getDefiningOp() !=
            experts.getWeights().getDefiningOp())
      return fail("the ONNX writer needs phi.moe_experts' weights and "
                  "indices to come from one phi.moe_route");
    auto y = lowerMoeExperts(
        b, experts, names.lookup(experts.getInput()), routed->second, act,
        [&](const std::string &x, Value w, int64_t expert) {
          return expert < 0 ? product(op, x, w) : expertProduct(x, w, expert);
        });
    if (!y)
      return y.takeError();
    names[experts.getResult()] = *y;
    return Error::success();
  }
  return fail("the ONNX writer cannot translate " +
              op->getName().getStringRef());
}

Error DecoderEmitter::emit() {
  b.addInput("input_ids", kInt64,
             {std::string("batch_size"), std::string("sequence_length")});
  b.addInput("attention_mask", kInt64,
             {std::string("batch_size"), std::string("total_sequence_length")});
  b.addInput("position_ids", kInt64,
             {std::string("batch_size"), std::string("sequence_length")});
  names[model.getTokenIds()] = "input_ids";
  for (Operation &op : model.getBody().front())
    if (Error e = emitOp(&op))
      return e;
  return Error::success();
}

/// Tokenizer files ORT GenAI (onnxruntime-extensions) and transformers
/// read; those present in the checkpoint are copied.
constexpr const char *kTokenizerFiles[] = {
    "tokenizer.json",   "tokenizer_config.json", "special_tokens_map.json",
    "tokenizer.model",  "added_tokens.json",     "vocab.json",
    "merges.txt",       "generation_config.json"};

Error copyTokenizer(StringRef from, StringRef to) {
  llvm::SmallString<256> json(from);
  llvm::sys::path::append(json, "tokenizer.json");
  if (!llvm::sys::fs::exists(json))
    return fail("no tokenizer.json in '" + from +
                "' (ONNX Runtime GenAI's tokenizer needs it); name the "
                "tokenizer folder with --onnx-tokenizer");
  for (const char *file : kTokenizerFiles) {
    llvm::SmallString<256> src(from), dst(to);
    llvm::sys::path::append(src, file);
    llvm::sys::path::append(dst, file);
    if (!llvm::sys::fs::exists(src))
      continue;
    if (std::error_code ec = llvm::sys::fs::copy_file(src, dst))
      return fail("cannot copy " + src + " to " + dst + ": " + ec.message());
  }
  return Error::success();
}

/// Checks that `outDir` may be replaced by a finished export.
Error checkReplaceable(StringRef outDir) {
  llvm::sys::fs::file_status status;
  if (llvm::sys::fs::status(outDir, status))
    return Error::success(); // does not exist yet
  if (!llvm::sys::fs::is_directory(status))
    return fail("output '" + outDir + "' exists and is not a folder");
  llvm::SmallString<256> previous(outDir);
  llvm::sys::path::append(previous, "model.onnx");
  std::error_code ec;
  llvm::sys::fs::directory_iterator it(outDir, ec);
  bool empty = !ec && it == llvm::sys::fs::directory_iterator();
  if (!empty && !llvm::sys::fs::exists(previous))
    return fail("output folder '" + outDir +
                "' is not empty and holds no model.onnx; refusing to "
                "replace it");
  return Error::success();
}

} // namespace

Error phiq::onnx::exportONNX(ModuleOp module, StringRef outDir,
                             const ExportOptions &options) {
  // Everything that can be refused is refused before touching the disk.
  int32_t act;
  if (options.precision == "fp32")
    act = kFloat;
  else if (options.precision == "fp16")
    act = kFloat16;
  else if (options.precision == "bf16")
    return fail("precision bf16 is not supported: ONNX Runtime's CPU "
                "execution provider has no bf16 kernels for MatMul, Add, "
                "Mul, Softmax and the other ops of a decoder; use fp32 or "
                "fp16 (bf16 weights: quantize them with "
                "--phiq-quantize-weights=\"type=BF16 pure\" and export in "
                "fp32, which keeps them bf16 behind a Cast)");
  else
    return fail("unknown ONNX precision '" + options.precision +
                "' (expected fp32, fp16 or bf16)");
  if (options.accuracyLevel < 0 || options.accuracyLevel > 4)
    return fail("MatMulNBits accuracy_level must be 0..4, got " +
                std::to_string(options.accuracyLevel));
  auto models = llvm::to_vector(module.getOps<ModelOp>());
  if (models.size() != 1)
    return fail("expected exactly one phi.model to write as ONNX, found " +
                std::to_string(models.size()));
  ModelOp model = models.front();
  ConfigAttr config = model.getConfig();
  AttentionOp firstAttention;
  model.walk([&](AttentionOp a) {
    if (!firstAttention)
      firstAttention = a;
  });
  if (!firstAttention)
    return fail("the model has no attention layer");
  std::string tokenizerDir = options.tokenizerDir;
  if (tokenizerDir.empty()) {
    // The checkpoint's store, else the file an imported model came from
    // (an ONNX or GGUF import keeps its tokenizer files beside it).
    std::optional<StringRef> p = model.getStorePath("model");
    if (!p && !model.getStores().empty())
      if (auto path = dyn_cast<StringAttr>(model.getStores().begin()->getValue()))
        p = path.getValue();
    if (p)
      tokenizerDir = llvm::sys::fs::is_directory(*p)
                         ? p->str()
                         : llvm::sys::path::parent_path(*p).str();
  }
  if (outDir.empty())
    return fail("no output folder given (--onnx-out)");
  if (Error e = checkReplaceable(outDir))
    return e;

  // Stage the folder next to its destination, so the final rename is on
  // one file system and nothing partial is ever visible under `outDir`.
  llvm::SmallString<256> absolute(outDir);
  llvm::sys::fs::make_absolute(absolute);
  llvm::sys::path::remove_dots(absolute, /*remove_dot_dot=*/true);
  llvm::SmallString<256> staging;
  if (std::error_code ec = llvm::sys::fs::createUniqueDirectory(
          absolute + ".partial", staging))
    return fail("cannot create output folder '" + outDir +
                "': " + ec.message());
  // createUniqueDirectory makes a private folder; an export is meant to be
  // read by others like any build output.
  (void)llvm::sys::fs::setPermissions(
      staging, llvm::sys::fs::perms(llvm::sys::fs::all_read |
                                    llvm::sys::fs::all_exe |
                                    llvm::sys::fs::owner_write));
  bool done = false;
  llvm::scope_exit cleanup([&] {
    if (!done)
      llvm::sys::fs::remove_directories(staging);
  });
  auto inStaging = [&](StringRef file) {
    llvm::SmallString<256> path(staging);
    llvm::sys::path::append(path, file);
    return std::string(path);
  };

  auto data = ExternalDataWriter::create(inStaging("model.onnx.data"),
                                         "model.onnx.data");
  if (!data)
    return data.takeError();
  ::onnx::ModelProto proto;
  proto.set_ir_version(8);
  proto.set_producer_name("PhiQ");
  proto.set_producer_version("0.1.0");
  auto *onnxOpset = proto.add_opset_import();
  onnxOpset->set_domain("");
  onnxOpset->set_version(kOnnxOpset);
  auto *msOpset = proto.add_opset_import();
  msOpset->set_domain("com.microsoft");
  msOpset->set_version(kMicrosoftOpset);
  ::onnx::GraphProto *graph = proto.mutable_graph();
  graph->set_name(model.getSymName().str());
  GraphBuilder builder(*graph, **data);
  DecoderEmitter emitter(model, builder, act, options);
  if (Error e = emitter.emit())
    return e;
  if (Error e = (*data)->close())
    return e;

  std::string bytes;
  if (!proto.SerializeToString(&bytes))
    return fail("the ONNX graph does not fit in one protobuf (2 GB)");
  {
    std::error_code ec;
    llvm::raw_fd_ostream os(inStaging("model.onnx"), ec);
    if (ec)
      return fail("cannot write model.onnx: " + ec.message());
    os << bytes;
    os.close();
    if (os.has_error())
      return fail("cannot write model.onnx: " + os.error().message());
  }

  GenAIModelInfo info;
  StringRef architecture = config.getArchitecture().getValue();
  info.type = architecture.starts_with("Phimoe") ? "phimoe" : "phi3";
  info.vocabSize = config.getVocabSize();
  info.hiddenSize = config.getHiddenSize();
  info.numLayers = config.getNumLayers();
  info.numHeads = firstAttention.getNumHeads();
  info.numKvHeads = firstAttention.getNumKvHeads();
  info.headSize = firstAttention.getHeadDim();
  info.contextLength = config.getMaxPositions();
  info.bosTokenId = config.getBosTokenId();
  info.padTokenId = config.getPadTokenId();
  ArrayRef<int64_t> eos = config.getEosTokenIds().asArrayRef();
  info.eosTokenIds.assign(eos.begin(), eos.end());
  if (Error e = writeGenAIConfig(inStaging("genai_config.json"), info))
    return e;
  if (Error e = copyTokenizer(tokenizerDir, staging))
    return e;

  // Swap the finished folder in; an earlier export moves aside first and
  // is removed once the new one is in place.
  llvm::SmallString<256> old;
  if (llvm::sys::fs::exists(absolute)) {
    if (std::error_code ec = llvm::sys::fs::createUniqueDirectory(
            absolute + ".old", old))
      return fail("cannot replace '" + outDir + "': " + ec.message());
    llvm::sys::fs::remove(old);
    if (std::error_code ec = llvm::sys::fs::rename(absolute, old))
      return fail("cannot replace '" + outDir + "': " + ec.message());
  }
  if (std::error_code ec = llvm::sys::fs::rename(staging, absolute)) {
    if (!old.empty())
      (void)llvm::sys::fs::rename(old, absolute);
    return fail("cannot create output folder '" + outDir +
                "': " + ec.message());
  }
  done = true;
  if (!old.empty())
    llvm::sys::fs::remove_directories(old);
  return Error::success();
}
