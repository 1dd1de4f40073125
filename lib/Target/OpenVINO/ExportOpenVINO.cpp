//===- ExportOpenVINO.cpp - phi IR to an OpenVINO IR folder ------*- C++ -*-=//
//
// Translates a phi.model op by op into OpenVINO opset layers in the form
// optimum-intel exports for openvino-genai: Parameters input_ids,
// attention_mask, position_ids (i64 [batch, seq]) and beam_idx (i32
// [batch]); Result logits (f32 [batch, seq, vocab]); per layer two
// ReadValue/Assign variables "past_key_values.N.keypresent.N.key" (and
// value) of shape [batch, kv_heads, seq, head_dim], whose initial value is
// [batch, kv_heads, 0, head_dim] (the zero-length axis is how
// openvino-genai finds the sequence axis), reordered by beam_idx before
// use.
//
// The arithmetic follows phi-run op for op, as the ONNX writer's does
// (rotation x1*cos - x2*sin from precomputed tables, longrope short/long
// selection on the total length, scores scaled after the dot product,
// softmax in f32), so OpenVINO's perplexity matches phi-run's. PhiMoE's
// router and experts are MoeLayers.cpp's; LayerNorm is MVN.
//
// Weights: a linear is MatMul(x, W, transpose_b) with W [out, in] as the
// checkpoint stores it. Float weights are f32 Consts, or f16 Consts with a
// Convert marked "decompression" (what ov.save_model(compress_to_fp16)
// writes). 4- and 8-bit blocks with fp16 scales (the NNCF formats,
// MatMulNBits' _F16 formats, Q4_0, Q8_0) are written the way NNCF's
// compress_weights writes them: codes [out, groups, group] as u4 (with a
// u4 zero point [out, groups, 1]), i4 (symmetric) or u8, then Convert(f16)
// -> Subtract(zero point) -> Multiply(f16 scale) -> Reshape [out, in] ->
// Convert(f32), the subgraph the CPU plugin fuses into its low-bit MatMul.
//
//===----------------------------------------------------------------------===//
#include "phiq/Target/OpenVINO/ExportOpenVINO.h"

#include "IRBuilder.h"
#include "MoeLayers.h"

// The ONNX writer's weight readers: they find a weight's bytes and lay
// blocks out as codes / scales / zero points, which IR stores the same way.
#include "../ONNX/Weights.h"

#include "dialects/Phi/PhiOps.h"
#include "dialects/PhiQ/PhiQOps.h"
#include "phiq/Quant/BlockFormat.h"
#include "phiq/Quant/Fp16.h"

#include "llvm/ADT/DenseMap.h"
#include "llvm/ADT/ScopeExit.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"

#include <cmath>
#include <cstring>
#include <limits>

using namespace mlir;
using namespace mlir::phi;
using namespace phiq::openvino;
namespace quant = ::phiq::quant;
namespace onnxw = ::phiq::onnx;
using llvm::Error;
using llvm::Expected;
using ET = ElementType;

namespace {

Error fail(const llvm::Twine &message) {
  return llvm::createStringError(message);
}

bool isFloatFormat(quant::BlockFormat f) {
  return f == quant::BlockFormat::F32 || f == quant::BlockFormat::F16 ||
         f == quant::BlockFormat::BF16;
}

/// One phi.model as IR layers.
class DecoderEmitter {
public:
  DecoderEmitter(ModelOp model, IRBuilder &b, const ExportOptions &options,
                 ExportReport &report)
      : model(model), b(b), options(options), report(report) {}

  Error emit();

private:
  Error emitOp(Operation *op);
  /// `weight` as an f32 tensor in its checkpoint shape (decompressed in
  /// the graph when stored compressed). Shared by all its uses.
  Expected<Output> weightValue(Value weight);
  Expected<Output> floatConstant(Operation *data, bool forceF32);
  Expected<Output> lowBitMatrix(Operation *data);
  Expected<Output> channelMatrix(Operation *data);
  Expected<Output> attention(AttentionOp op, Output q, Output k, Output v);
  Expected<std::pair<Output, Output>> rotaryFor(RopeAttr rope);
  Output maskFor(std::optional<int64_t> window);
  Output rotate(Output x, std::pair<Output, Output> cs, int64_t headDim,
                int64_t rotaryDim);
  /// A weight's layer name: its checkpoint name, with "_N" appended when a
  /// tied table is written twice (float for the Gather, blocks for the
  /// lm_head), so that layer names stay unique.
  std::string layerName(Operation *data);
  Output i64(llvm::ArrayRef<int64_t> v, bool scalar = false) {
    return b.constI64(v, scalar);
  }

  ModelOp model;
  IRBuilder &b;
  const ExportOptions &options;
  ExportReport &report;
  Output inputIds, attentionMask, positionIds, beamIdx;
  Output totalLength, pastLength, batchDim;
  bool lengthsMade = false;
  llvm::DenseMap<Value, Output> values;
  llvm::DenseMap<Operation *, Output> weights;
  llvm::StringMap<unsigned> weightNameUses;
  llvm::DenseMap<Attribute, std::pair<Output, Output>> rotaries;
  std::map<int64_t, Output> masks;
  llvm::DenseMap<Value, RoutedExperts> routes;
  unsigned layer = 0, inlineWeights = 0;
};

std::string DecoderEmitter::layerName(Operation *data) {
  std::string name = onnxw::weightName(data);
  if (name == "inline weight")
    name = "weight_" + std::to_string(inlineWeights++);
  if (unsigned uses = weightNameUses[name]++)
    name += "_" + std::to_string(uses);
  return name;
}

Expected<Output> DecoderEmitter::floatConstant(Operation *data,
                                               bool forceF32) {
  auto floats = onnxw::readWeightAsFloats(data);
  if (!floats)
    return floats.takeError();
  SmallVector<int64_t> shape(onnxw::weightShape(data));
  std::string name = layerName(data);
  if (forceF32 || options.weights == "fp32")
    return b.constant(name, ET::f32, shape, encodeFloats(*floats, ET::f32));
  auto half = b.constant(name + "_compressed", ET::f16, shape,
                         encodeFloats(*floats, ET::f16));
  if (!half)
    return half.takeError();
  Output out = b.addLayer("Convert", "opset1", {*half}, {ET::f32},
                          {{"destination_type", "f32"}}, name)[0];
  b.markDecompression(out);
  return out;
}

Expected<Output> DecoderEmitter::lowBitMatrix(Operation *data) {
  auto w = onnxw::repackForMatMulNBits(data);
  if (!w)
    return w.takeError();
  const onnxw::NBitsShape &s = w->shape;
  const int64_t groups = s.blocksPerRow();
  std::string name = layerName(data);
  std::optional<quant::MatMulNBitsLayout> layout =
      quant::matMulNBitsLayout(*onnxw::packedFormat(data));
  // Q4_0 and Q8_0 (no layout) carry fp16 scales.
  const bool f16Scales = !layout || layout->fp16Scales;
  const ET scaleType = f16Scales ? ET::f16 : ET::f32;
  const std::string scaleName = f16Scales ? "f16" : "f32";
  // 4-bit symmetric blocks hold q + 8; IR's i4 holds q (two's complement).
  ET codeType = s.bits == 8 ? ET::u8 : s.hasZeroPoints ? ET::u4 : ET::i4;
  if (codeType == ET::i4)
    for (uint8_t &byte : w->codes)
      byte ^= 0x88;
  auto codes = b.constant(name, codeType, {s.n, groups, s.blockSize}, w->codes);
  if (!codes)
    return codes.takeError();
  Output x = b.add("Convert", "opset1", {*codes}, scaleType,
                   {{"destination_type", scaleName}});
  std::vector<uint8_t> zp;
  if (s.hasZeroPoints) {
    // IR packs the [out, groups, 1] zero points densely; MatMulNBits pads
    // each row to whole bytes.
    zp.assign(size_t((s.n * groups * s.bits + 7) / 8), 0);
    for (int64_t r = 0; r < s.n; ++r)
      for (int64_t g = 0; g < groups; ++g) {
        const uint8_t *row = w->zeroPoints.data() + r * s.zeroPointRowBytes();
        const int64_t i = r * groups + g;
        if (s.bits == 8) {
          zp[size_t(i)] = row[g];
        } else {
          const uint8_t v = (row[g / 2] >> (4 * (g % 2))) & 15;
          zp[size_t(i / 2)] |= uint8_t(v << (4 * (i % 2)));
        }
      }
  } else if (s.bits == 8) {
    // Q8_0 / symmetric 8-bit: codes hold q + 128.
    zp.assign(size_t(s.n * groups), 128);
  }
  if (!zp.empty()) {
    auto zpConst = b.constant(name + "/zero_point", s.bits == 8 ? ET::u8 : ET::u4,
                              {s.n, groups, 1}, zp);
    if (!zpConst)
      return zpConst.takeError();
    Output zpValue = b.add("Convert", "opset1", {*zpConst}, scaleType,
                           {{"destination_type", scaleName}});
    x = b.add("Subtract", "opset1", {x, zpValue}, scaleType,
              {{"auto_broadcast", "numpy"}});
  }
  auto scales = b.constant(name + "/scale", scaleType, {s.n, groups, 1},
                           encodeFloats(w->scales, scaleType));
  if (!scales)
    return scales.takeError();
  x = b.add("Multiply", "opset1", {x, *scales}, scaleType,
            {{"auto_broadcast", "numpy"}});
  x = b.add("Reshape", "opset1", {x, i64({s.n, s.k})}, scaleType,
            {{"special_zero", "false"}});
  if (scaleType == ET::f32)
    return x;
  return b.add("Convert", "opset1", {x}, ET::f32,
               {{"destination_type", "f32"}});
}

/// NNCF's INT8_ASYM per channel: codes u8 [out, in], zero point u8 and
/// f16 scale [out, 1], Convert(f16) -> Subtract -> Multiply -> Convert(f32).
Expected<Output> DecoderEmitter::channelMatrix(Operation *data) {
  ArrayRef<int64_t> shape = onnxw::weightShape(data);
  const int64_t n = shape.front(), k = shape.back();
  std::vector<uint8_t> storage;
  auto bytes = onnxw::packedBytes(data, storage);
  if (!bytes)
    return bytes.takeError();
  if (int64_t(bytes->size()) != n * (k + 3))
    return fail("packed weight '" + onnxw::weightName(data) +
                "' has the wrong number of bytes");
  std::vector<uint8_t> codes(size_t(n * k)), zeroPoints(static_cast<size_t>(n)),
      scales(size_t(n * 2));
  for (int64_t r = 0; r < n; ++r) {
    const uint8_t *row = bytes->data() + r * (k + 3);
    std::memcpy(&scales[size_t(r * 2)], row, 2);
    zeroPoints[size_t(r)] = row[2];
    std::memcpy(&codes[size_t(r * k)], row + 3, size_t(k));
  }
  std::string name = layerName(data);
  auto codeConst = b.constant(name, ET::u8, {n, k}, codes);
  auto zpConst = b.constant(name + "/zero_point", ET::u8, {n, 1},
                              zeroPoints);
  auto scaleConst = b.constant(name + "/scale", ET::f16, {n, 1}, scales);
  for (auto *c : {&codeConst, &zpConst, &scaleConst})
    if (!*c)
      return c->takeError();
  auto toF16 = [&](Output x) {
    return b.add("Convert", "opset1", {x}, ET::f16,
                 {{"destination_type", "f16"}});
  };
  Output x = b.add("Subtract", "opset1", {toF16(*codeConst), toF16(*zpConst)},
                   ET::f16, {{"auto_broadcast", "numpy"}});
  x = b.add("Multiply", "opset1", {x, *scaleConst}, ET::f16,
            {{"auto_broadcast", "numpy"}});
  return b.add("Convert", "opset1", {x}, ET::f32,
               {{"destination_type", "f32"}});
}

Expected<Output> DecoderEmitter::weightValue(Value weight) {
  Operation *data = onnxw::weightDataOp(weight);
  auto it = weights.find(data);
  if (it != weights.end())
    return it->second;
  std::optional<quant::BlockFormat> format = onnxw::packedFormat(data);
  const bool matrix = onnxw::weightShape(data).size() == 2;
  Expected<Output> out = Output();
  if (format == quant::BlockFormat::NNCF_U8_CHANNEL && matrix) {
    out = channelMatrix(data);
  } else if (format && !isFloatFormat(*format) && matrix &&
             onnxw::nbitsShape(data)) {
    out = lowBitMatrix(data);
  } else if (format && !isFloatFormat(*format)) {
    if (!options.allowRequantize)
      return fail("weight '" + onnxw::weightName(data) + "' is packed as " +
                  quant::formatInfo(*format).name +
                  ", which OpenVINO IR cannot hold exactly (it stores 4/8-bit "
                  "codes with one scale and zero point per group); quantize "
                  "for OpenVINO with --phiq-quantize-openvino, or write it "
                  "as f16 with --allow-requantize (phi-translate: "
                  "--openvino-allow-requantize)");
    // Requantize: the decoded values, rounded to f16; the added error is
    // reported.
    auto floats = onnxw::readWeightAsFloats(data);
    if (!floats)
      return floats.takeError();
    double err = 0, ref = 0;
    for (float v : *floats) {
      const double d = double(quant::roundToFp16(v)) - double(v);
      err += d * d;
      ref += double(v) * double(v);
    }
    ++report.requantized;
    report.worstRequantizeError =
        std::max(report.worstRequantizeError,
                 ref > 0 ? std::sqrt(err / ref) : 0.0);
    SmallVector<int64_t> shape(onnxw::weightShape(data));
    auto half = b.constant(layerName(data) + "_compressed", ET::f16,
                           shape, encodeFloats(*floats, ET::f16));
    if (!half)
      return half.takeError();
    out = b.add("Convert", "opset1", {*half}, ET::f32,
                {{"destination_type", "f32"}});
    b.markDecompression(*out);
  } else {
    // Norm weights and biases stay f32, as optimum-intel keeps them.
    out = floatConstant(data, /*forceF32=*/!matrix);
  }
  if (!out)
    return out.takeError();
  weights[data] = *out;
  return *out;
}

Expected<std::pair<Output, Output>> DecoderEmitter::rotaryFor(RopeAttr rope) {
  auto it = rotaries.find(rope);
  if (it != rotaries.end())
    return it->second;
  b.setScope("model/rotary");
  auto table = [&](bool longFactors, bool sine,
                   int64_t rows) -> Expected<Output> {
    // Exactly phi-run's rotary: cosf(float(pos) * inv_freq[i]) * scale.
    int64_t selector = longFactors ? rope.getOriginalMaxPositions() : 0;
    llvm::SmallVector<float> invFreq;
    rope.computeInvFreq(selector, invFreq);
    const float scale = float(rope.getCosSinScale(selector));
    const int64_t half = int64_t(invFreq.size());
    std::vector<float> v(size_t(rows * half));
    for (int64_t pos = 0; pos < rows; ++pos)
      for (int64_t i = 0; i < half; ++i) {
        const float angle = float(pos) * invFreq[size_t(i)];
        v[size_t(pos * half + i)] = (sine ? sinf(angle) : cosf(angle)) * scale;
      }
    std::string name = llvm::formatv("{0}_cache{1}_{2}", sine ? "sin" : "cos",
                                     longFactors ? "_long" : "",
                                     rotaries.size())
                           .str();
    return b.constant(name, ET::f32, {rows, half}, encodeFloats(v, ET::f32));
  };
  auto gather = [&](Output t, Output idx) {
    return b.add("Gather", "opset8", {t, idx, i64({0}, true)}, ET::f32,
                 {{"batch_dims", "0"}});
  };
  std::pair<Output, Output> cs;
  if (rope.getKind() != RopeKind::LongRope) {
    auto cos = table(false, false, rope.getMaxPositions());
    auto sin = table(false, true, rope.getMaxPositions());
    if (!cos || !sin)
      return cos ? sin.takeError() : cos.takeError();
    cs = {gather(*cos, positionIds), gather(*sin, positionIds)};
  } else {
    const int64_t original = rope.getOriginalMaxPositions();
    auto cosS = table(false, false, original), sinS = table(false, true, original);
    auto cosL = table(true, false, rope.getMaxPositions()),
         sinL = table(true, true, rope.getMaxPositions());
    for (auto *t : {&cosS, &sinS, &cosL, &sinL})
      if (!*t)
        return t->takeError();
    // phi-run rotates with the long factors when the pass's highest
    // position reaches the original context; the short gather is clamped
    // so it stays in range then.
    Output clamped = b.add("Minimum", "opset1",
                           {positionIds, i64({original - 1}, true)}, ET::i64,
                           {{"auto_broadcast", "numpy"}});
    Output useLong = b.add("Greater", "opset1",
                           {totalLength, i64({original}, true)}, ET::boolean,
                           {{"auto_broadcast", "numpy"}});
    auto pick = [&](Output s, Output l) {
      return b.add("Select", "opset1",
                   {useLong, gather(l, positionIds), gather(s, clamped)},
                   ET::f32, {{"auto_broadcast", "numpy"}});
    };
    cs = {pick(*cosS, *cosL), pick(*sinS, *sinL)};
  }
  // [B, T, half] -> [B, 1, T, half]: broadcast over the heads.
  cs.first = b.add("Unsqueeze", "opset1", {cs.first, i64({1})}, ET::f32);
  cs.second = b.add("Unsqueeze", "opset1", {cs.second, i64({1})}, ET::f32);
  rotaries[rope] = cs;
  return cs;
}

Output DecoderEmitter::maskFor(std::optional<int64_t> window) {
  int64_t key = window ? *window : std::numeric_limits<int64_t>::max();
  auto it = masks.find(key);
  if (it != masks.end())
    return it->second;
  b.setScope("model/attn_mask");
  // Key slot j is visible from query slot i = past + t when j <= i,
  // i - j < window, and attention_mask[b, j] is 1.
  auto range = [&](Output start) {
    return b.add("Range", "opset4", {start, totalLength, i64({1}, true)},
                 ET::i64, {{"output_type", "i64"}});
  };
  auto bcast = [] { return IRBuilder::Attrs{{"auto_broadcast", "numpy"}}; };
  Output column = b.add("Unsqueeze", "opset1", {range(pastLength), i64({1})},
                        ET::i64);
  Output row =
      b.add("Unsqueeze", "opset1", {range(i64({0}, true)), i64({0})}, ET::i64);
  Output allowed =
      b.add("LessEqual", "opset1", {row, column}, ET::boolean, bcast());
  if (window) {
    Output distance = b.add("Subtract", "opset1", {column, row}, ET::i64, bcast());
    Output inside = b.add("Less", "opset1", {distance, i64({*window}, true)},
                          ET::boolean, bcast());
    allowed = b.add("LogicalAnd", "opset1", {allowed, inside}, ET::boolean,
                    bcast());
  }
  Output causal =
      b.add("Unsqueeze", "opset1", {allowed, i64({0, 1})}, ET::boolean);
  Output padding = b.add("Convert", "opset1", {attentionMask}, ET::boolean,
                         {{"destination_type", "boolean"}});
  padding = b.add("Unsqueeze", "opset1", {padding, i64({1, 2})}, ET::boolean);
  Output mask =
      b.add("LogicalAnd", "opset1", {causal, padding}, ET::boolean, bcast());
  masks[key] = mask;
  return mask;
}

Output DecoderEmitter::rotate(Output x, std::pair<Output, Output> cs,
                              int64_t headDim, int64_t rotaryDim) {
  const int64_t half = rotaryDim / 2;
  auto slice = [&](int64_t from, int64_t to) {
    return b.add("Slice", "opset8",
                 {x, i64({from}), i64({to}), i64({1}), i64({3})}, ET::f32);
  };
  auto op = [&](const char *type, Output l, Output r) {
    return b.add(type, "opset1", {l, r}, ET::f32,
                 {{"auto_broadcast", "numpy"}});
  };
  Output lo = slice(0, half), hi = slice(half, rotaryDim);
  // phi-run: lo' = lo*cos - hi*sin, hi' = hi*cos + lo*sin.
  Output newLo = op("Subtract", op("Multiply", lo, cs.first),
                    op("Multiply", hi, cs.second));
  Output newHi = op("Add", op("Multiply", hi, cs.first),
                    op("Multiply", lo, cs.second));
  std::vector<Output> parts = {newLo, newHi};
  if (rotaryDim < headDim) // partial rotary: the rest passes unchanged
    parts.push_back(slice(rotaryDim, headDim));
  return b.add("Concat", "opset1", parts, ET::f32, {{"axis", "3"}});
}

Expected<Output> DecoderEmitter::attention(AttentionOp op, Output q, Output k,
                                           Output v) {
  const int64_t heads = op.getNumHeads(), kvHeads = op.getNumKvHeads(),
                headDim = op.getHeadDim();
  RopeAttr rope = op.getRope();
  auto rotary = rotaryFor(rope);
  if (!rotary)
    return rotary.takeError();
  std::optional<int64_t> window;
  if (auto w = op.getSlidingWindow(); w && int64_t(*w) < rope.getMaxPositions())
    window = int64_t(*w);
  Output mask = maskFor(window);

  b.setScope(llvm::formatv("model/layers.{0}/attn", layer).str());
  auto heads4 = [&](Output x, int64_t n) {
    Output r = b.add("Reshape", "opset1", {x, i64({0, 0, n, headDim})},
                     ET::f32, {{"special_zero", "true"}});
    return b.add("Transpose", "opset1", {r, i64({0, 2, 1, 3})}, ET::f32);
  };
  Output query = rotate(heads4(q, heads), *rotary, headDim, rope.getRotaryDim());
  Output key = rotate(heads4(k, kvHeads), *rotary, headDim, rope.getRotaryDim());
  Output value = heads4(v, kvHeads);

  // The stateful cache: ReadValue (initially [B, kv, 0, hd]) reordered by
  // beam_idx, the new entries appended, the result assigned back.
  Output init = b.add(
      "Broadcast", "opset3",
      {b.constF32(0.0f),
       b.add("Concat", "opset1", {batchDim, i64({kvHeads, 0, headDim})},
             ET::i64, {{"axis", "0"}})},
      ET::f32, {{"mode", "numpy"}});
  auto cached = [&](const char *kind, Output fresh) {
    std::string id = llvm::formatv("past_key_values.{0}.{1}present.{0}.{1}",
                                   layer, kind)
                         .str();
    IRBuilder::Attrs varAttrs = {
        {"variable_id", id},
        {"variable_type", "f32"},
        {"variable_shape", llvm::formatv("?,{0},?,{1}", kvHeads, headDim)}};
    Output past = b.add("ReadValue", "opset6", {init}, ET::f32, varAttrs);
    past = b.add("Gather", "opset8", {past, beamIdx, i64({0}, true)}, ET::f32,
                 {{"batch_dims", "0"}});
    Output all =
        b.add("Concat", "opset1", {past, fresh}, ET::f32, {{"axis", "2"}});
    b.sink("Assign", "opset6", all, {{"variable_id", id}});
    return all;
  };
  Output keys = cached("key", key), vals = cached("value", value);

  if (kvHeads != heads) { // GQA: query head h reads kv head h / group
    const int64_t group = heads / kvHeads;
    auto repeat = [&](Output x) {
      Output u = b.add("Unsqueeze", "opset1", {x, i64({2})}, ET::f32);
      Output e = b.add("Broadcast", "opset3", {u, i64({1, 1, group, 1, 1})},
                       ET::f32, {{"mode", "bidirectional"}});
      return b.add("Reshape", "opset1", {e, i64({0, heads, -1, headDim})},
                   ET::f32, {{"special_zero", "true"}});
    };
    keys = repeat(keys);
    vals = repeat(vals);
  }
  Output scores = b.add("MatMul", "opset1", {query, keys}, ET::f32,
                        {{"transpose_a", "false"}, {"transpose_b", "true"}});
  scores = b.add("Multiply", "opset1",
                 {scores, b.constF32(float(op.getSoftmaxScale()))}, ET::f32,
                 {{"auto_broadcast", "numpy"}});
  // A finite floor rather than -inf: a fully masked (padding) row then
  // softmaxes to a harmless uniform row instead of NaN.
  scores = b.add("Select", "opset1",
                 {mask, scores, b.constF32(std::numeric_limits<float>::lowest())},
                 ET::f32, {{"auto_broadcast", "numpy"}});
  Output probs = b.add("Softmax", "opset8", {scores}, ET::f32, {{"axis", "-1"}});
  Output context = b.add("MatMul", "opset1", {probs, vals}, ET::f32,
                         {{"transpose_a", "false"}, {"transpose_b", "false"}});
  Output merged =
      b.add("Transpose", "opset1", {context, i64({0, 2, 1, 3})}, ET::f32);
  return b.add("Reshape", "opset1", {merged, i64({0, 0, heads * headDim})},
               ET::f32, {{"special_zero", "true"}});
}

Error DecoderEmitter::emitOp(Operation *op) {
  if (isa<WeightOp, mlir::phiq_ir::PackedWeightOp, mlir::phiq_ir::QuantizeOp,
          mlir::phiq_ir::DequantizeOp>(op))
    return Error::success(); // read where used
  auto bcast = [] { return IRBuilder::Attrs{{"auto_broadcast", "numpy"}}; };
  b.setScope(llvm::formatv("model/layers.{0}/{1}", layer,
                           op->getName().stripDialect())
                 .str());
  if (isa<EmbeddingOp, mlir::phiq_ir::EmbeddingOp>(op)) {
    b.setScope("model/embed_tokens");
    auto table = weightValue(op->getOperand(1));
    if (!table)
      return table.takeError();
    values[op->getResult(0)] =
        b.add("Gather", "opset8",
              {*table, values.lookup(op->getOperand(0)), i64({0}, true)},
              ET::f32, {{"batch_dims", "0"}});
    return Error::success();
  }
  if (auto norm = dyn_cast<RmsNormOp>(op)) {
    // phi-run: y = w * (x * (1 / sqrt(mean(x^2) + eps))) (+ b).
    Output x = values.lookup(norm.getInput());
    Output ms = b.add("ReduceMean", "opset1",
                      {b.add("Multiply", "opset1", {x, x}, ET::f32, bcast()),
                       i64({-1})},
                      ET::f32, {{"keep_dims", "true"}});
    Output root = b.add(
        "Sqrt", "opset1",
        {b.add("Add", "opset1",
               {ms, b.constF32(float(norm.getEpsilon().convertToDouble()))},
               ET::f32, bcast())},
        ET::f32);
    Output inverse =
        b.add("Divide", "opset1", {b.constF32(1.0f), root}, ET::f32,
              {{"auto_broadcast", "numpy"}, {"m_pythondiv", "true"}});
    auto w = weightValue(norm.getWeight());
    if (!w)
      return w.takeError();
    Output y = b.add("Multiply", "opset1",
                     {*w, b.add("Multiply", "opset1", {x, inverse}, ET::f32,
                                bcast())},
                     ET::f32, bcast());
    if (norm.getBias()) {
      auto bias = weightValue(norm.getBias());
      if (!bias)
        return bias.takeError();
      y = b.add("Add", "opset1", {y, *bias}, ET::f32, bcast());
    }
    values[norm.getResult()] = y;
    return Error::success();
  }
  if (isa<LinearOp, LmHeadOp, mlir::phiq_ir::LinearOp>(op)) {
    if (isa<LmHeadOp>(op))
      b.setScope("model/lm_head");
    auto w = weightValue(op->getOperand(1));
    if (!w)
      return w.takeError();
    Output y = b.add("MatMul", "opset1", {values.lookup(op->getOperand(0)), *w},
                     ET::f32,
                     {{"transpose_a", "false"}, {"transpose_b", "true"}});
    if (op->getNumOperands() > 2 && op->getOperand(2)) {
      auto bias = weightValue(op->getOperand(2));
      if (!bias)
        return bias.takeError();
      y = b.add("Add", "opset1", {y, *bias}, ET::f32, bcast());
    }
    values[op->getResult(0)] = y;
    return Error::success();
  }
  if (auto split = dyn_cast<SplitOp>(op)) {
    SmallVector<int64_t> sizes;
    for (Value part : split.getResults())
      sizes.push_back(cast<RankedTensorType>(part.getType()).getShape().back());
    std::vector<Output> parts = b.addLayer(
        "VariadicSplit", "opset1",
        {values.lookup(split.getInput()), i64({-1}, true), i64(sizes)},
        std::vector<ET>(sizes.size(), ET::f32));
    for (auto [i, part] : llvm::enumerate(split.getResults()))
      values[part] = parts[i];
    return Error::success();
  }
  if (auto attn = dyn_cast<AttentionOp>(op)) {
    auto y = attention(attn, values.lookup(attn.getQuery()),
                       values.lookup(attn.getKey()),
                       values.lookup(attn.getValue()));
    if (!y)
      return y.takeError();
    values[attn.getResult()] = *y;
    ++layer;
    return Error::success();
  }
  if (auto glu = dyn_cast<GluOp>(op)) {
    // [gate | up] -> up * silu(gate); phi-run: up * (g / (1 + exp(-g))).
    const int64_t inter = glu.getType().getShape().back();
    std::vector<Output> parts = b.addLayer(
        "VariadicSplit", "opset1",
        {values.lookup(glu.getInput()), i64({-1}, true), i64({inter, inter})},
        {ET::f32, ET::f32});
    Output silu = b.add("Multiply", "opset1",
                        {parts[0], b.add("Sigmoid", "opset1", {parts[0]}, ET::f32)},
                        ET::f32, bcast());
    values[glu.getResult()] =
        b.add("Multiply", "opset1", {parts[1], silu}, ET::f32, bcast());
    return Error::success();
  }
  if (auto addOp = dyn_cast<AddOp>(op)) {
    values[addOp.getResult()] =
        b.add("Add", "opset1",
              {values.lookup(addOp.getLhs()), values.lookup(addOp.getRhs())},
              ET::f32, bcast());
    return Error::success();
  }
  if (auto output = dyn_cast<OutputOp>(op)) {
    b.result("logits", values.lookup(output.getLogits()));
    return Error::success();
  }
  if (auto norm = dyn_cast<LayerNormOp>(op)) {
    // phi-run: (x - mean) / sqrt(var + eps) * w (+ b), biased variance.
    Output y = b.add(
        "MVN", "opset6",
        {values.lookup(norm.getInput()), i64({-1})}, ET::f32,
        {{"eps", llvm::formatv("{0:e9}", norm.getEpsilon().convertToDouble())},
         {"normalize_variance", "true"},
         {"eps_mode", "inside_sqrt"}});
    auto w = weightValue(norm.getWeight());
    if (!w)
      return w.takeError();
    y = b.add("Multiply", "opset1", {y, *w}, ET::f32, bcast());
    if (norm.getBias()) {
      auto bias = weightValue(norm.getBias());
      if (!bias)
        return bias.takeError();
      y = b.add("Add", "opset1", {y, *bias}, ET::f32, bcast());
    }
    values[norm.getResult()] = y;
    return Error::success();
  }
  if (auto route = dyn_cast<MoeRouteOp>(op)) {
    b.setScope(llvm::formatv("model/layers.{0}/moe_route", layer).str());
    auto routed = lowerMoeRoute(b, route, values.lookup(route.getLogits()));
    if (!routed)
      return routed.takeError();
    routes[route.getWeights()] = *routed;
    return Error::success();
  }
  if (auto experts = dyn_cast<MoeExpertsOp>(op)) {
    b.setScope(llvm::formatv("model/layers.{0}/experts", layer).str());
    auto routed = routes.find(experts.getWeights());
    if (routed == routes.end() ||
        experts.getIndices().getDefiningOp() !=
            experts.getWeights().getDefiningOp())
      return fail("the OpenVINO writer needs phi.moe_experts' weights and "
                  "indices to come from one phi.moe_route");
    auto y = lowerMoeExperts(b, experts, values.lookup(experts.getInput()),
                             routed->second,
                             [&](Value w) { return weightValue(w); });
    if (!y)
      return y.takeError();
    values[experts.getResult()] = *y;
    return Error::success();
  }
  return fail("the OpenVINO writer cannot translate " +
              op->getName().getStringRef());
}

Error DecoderEmitter::emit() {
  b.setScope("model/inputs");
  inputIds = b.parameter("input_ids", ET::i64, "?,?");
  attentionMask = b.parameter("attention_mask", ET::i64, "?,?");
  positionIds = b.parameter("position_ids", ET::i64, "?,?");
  beamIdx = b.parameter("beam_idx", ET::i32, "?");
  values[model.getTokenIds()] = inputIds;
  b.setScope("model/lengths");
  auto dim = [&](Output x, int64_t axis) {
    Output shape = b.add("ShapeOf", "opset3", {x}, ET::i64,
                         {{"output_type", "i64"}});
    return b.add("Gather", "opset8", {shape, i64({axis}, true), i64({0}, true)},
                 ET::i64, {{"batch_dims", "0"}});
  };
  totalLength = dim(attentionMask, 1);
  pastLength = b.add("Subtract", "opset1", {totalLength, dim(inputIds, 1)},
                     ET::i64, {{"auto_broadcast", "numpy"}});
  batchDim = b.add("Unsqueeze", "opset1", {dim(inputIds, 0), i64({0})}, ET::i64);
  for (Operation &op : model.getBody().front())
    if (Error e = emitOp(&op))
      return e;
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
  llvm::sys::path::append(previous, "openvino_model.xml");
  std::error_code ec;
  llvm::sys::fs::directory_iterator it(outDir, ec);
  bool empty = !ec && it == llvm::sys::fs::directory_iterator();
  if (!empty && !llvm::sys::fs::exists(previous))
    return fail("output folder '" + outDir +
                "' is not empty and holds no openvino_model.xml; refusing to "
                "replace it");
  return Error::success();
}

/// generation_config.json: the checkpoint's when it has one (its eos list
/// names <|end|>), otherwise the ids config.json states.
Error writeGenerationConfig(StringRef from, StringRef to, ConfigAttr config) {
  llvm::SmallString<256> src(from);
  llvm::sys::path::append(src, "generation_config.json");
  if (llvm::sys::fs::exists(src)) {
    if (std::error_code ec = llvm::sys::fs::copy_file(src, to))
      return fail("cannot copy " + src + ": " + ec.message());
    return Error::success();
  }
  llvm::json::Array eos;
  for (int64_t id : config.getEosTokenIds().asArrayRef())
    eos.push_back(id);
  llvm::json::Object object{{"bos_token_id", config.getBosTokenId()},
                            {"eos_token_id", std::move(eos)},
                            {"pad_token_id", config.getPadTokenId()}};
  std::error_code ec;
  llvm::raw_fd_ostream os(to, ec);
  if (ec)
    return fail("cannot write " + to + ": " + ec.message());
  os << llvm::formatv("{0:2}", llvm::json::Value(std::move(object))) << "\n";
  return Error::success();
}

} // namespace

Expected<ExportReport>
phiq::openvino::exportOpenVINO(ModuleOp module, StringRef outDir,
                               const ExportOptions &options) {
  if (options.weights != "fp32" && options.weights != "fp16")
    return fail("unknown OpenVINO weight type '" + options.weights +
                "' (expected fp32 or fp16)");
  auto models = llvm::to_vector(module.getOps<ModelOp>());
  if (models.size() != 1)
    return fail("expected exactly one phi.model to write as OpenVINO IR, "
                "found " +
                std::to_string(models.size()));
  ModelOp model = models.front();
  std::string configDir = options.configDir;
  if (configDir.empty())
    if (auto p = model.getStorePath("model"))
      configDir = llvm::sys::fs::is_directory(*p)
                      ? p->str()
                      : llvm::sys::path::parent_path(*p).str();
  llvm::SmallString<256> configJson(configDir);
  llvm::sys::path::append(configJson, "config.json");
  if (!llvm::sys::fs::exists(configJson))
    return fail("no config.json in '" + configDir +
                "' (openvino-genai reads it next to the model); name the "
                "checkpoint folder with --openvino-config");
  if (outDir.empty())
    return fail("no output folder given (--openvino-out)");
  if (Error e = checkReplaceable(outDir))
    return std::move(e);

  llvm::SmallString<256> absolute(outDir);
  llvm::sys::fs::make_absolute(absolute);
  llvm::sys::path::remove_dots(absolute, /*remove_dot_dot=*/true);
  llvm::SmallString<256> staging;
  if (std::error_code ec = llvm::sys::fs::createUniqueDirectory(
          absolute + ".partial", staging))
    return fail("cannot create output folder '" + outDir +
                "': " + ec.message());
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

  std::error_code ec;
  auto bin = std::make_unique<llvm::raw_fd_ostream>(
      inStaging("openvino_model.bin"), ec);
  if (ec)
    return fail("cannot write openvino_model.bin: " + ec.message());
  IRBuilder builder(std::move(bin));
  ExportReport report;
  DecoderEmitter emitter(model, builder, options, report);
  if (Error e = emitter.emit())
    return std::move(e);
  {
    llvm::raw_fd_ostream xml(inStaging("openvino_model.xml"), ec);
    if (ec)
      return fail("cannot write openvino_model.xml: " + ec.message());
    if (Error e = builder.finish(xml, model.getSymName(),
                                 {{"producer", "PhiQ 0.1.0"}}))
      return std::move(e);
    xml.close();
    if (xml.has_error())
      return fail("cannot write openvino_model.xml: " + xml.error().message());
  }
  if (std::error_code ec2 =
          llvm::sys::fs::copy_file(configJson, inStaging("config.json")))
    return fail("cannot copy " + configJson + ": " + ec2.message());
  if (Error e = writeGenerationConfig(configDir,
                                      inStaging("generation_config.json"),
                                      model.getConfig()))
    return std::move(e);

  llvm::SmallString<256> old;
  if (llvm::sys::fs::exists(absolute)) {
    if (std::error_code ec2 = llvm::sys::fs::createUniqueDirectory(
            absolute + ".old", old))
      return fail("cannot replace '" + outDir + "': " + ec2.message());
    llvm::sys::fs::remove(old);
    if (std::error_code ec2 = llvm::sys::fs::rename(absolute, old))
      return fail("cannot replace '" + outDir + "': " + ec2.message());
  }
  if (std::error_code ec2 = llvm::sys::fs::rename(staging, absolute)) {
    if (!old.empty())
      (void)llvm::sys::fs::rename(old, absolute);
    return fail("cannot create output folder '" + outDir +
                "': " + ec2.message());
  }
  done = true;
  if (!old.empty())
    llvm::sys::fs::remove_directories(old);
  return report;
}
