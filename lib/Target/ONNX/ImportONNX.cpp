//===- ImportONNX.cpp - ONNX decoder to phi IR ------------------*- C++ -*-===//
//
// An ONNX decoder is a flat graph: the transformer's layers are spelled out
// in MatMul / Mul / ReduceMean / Softmax ... nodes, and the only names that
// survive export are the weights'. So the importer anchors on the weight
// initializers (the checkpoint names, `model.layers.N.self_attn.qkv_proj.
// weight`, which both PhiQ's writer and torch.onnx.export keep), checks the
// nodes that consume each one (a float [out, in] matrix through
// Transpose(perm = [1, 0]) into MatMul, a MatMulNBits with consistent
// attributes, a norm scale into Mul, the embedding into Gather), and reads
// the settings that change the math from the constants of the subgraphs
// around them:
//   - head size and counts: the Reshape shapes that split q / k / v into
//     heads, solved against the projection sizes;
//   - each norm's epsilon: the constant added to ReduceMean(x * x);
//   - rotary: inv_freq and the attention factor from the cos / sin tables
//     (row 0 is the factor, row p the angle p * inv_freq, matched to the
//     float bit), the short / long pair and their lengths for longrope;
//   - the softmax scale (the constant multiplying Q K^T) and the sliding
//     window (the constant the query-key distance is compared with).
// Token ids and the rope base come from genai_config.json / config.json
// beside the file; what both the graph and config.json state must agree.
// Every op type in the graph must be one this reading accounts for, so a
// graph that computes something else is refused, naming the node.
//
//===----------------------------------------------------------------------===//
#include "phiq/Target/ONNX/ImportONNX.h"

#include "phiq/Target/ONNX/ONNXStore.h"

#include "dialects/Phi/PhiOps.h"
#include "dialects/Phi/PhiParams.h"
#include "dialects/PhiQ/PhiQDialect.h"
#include "dialects/PhiQ/PhiQOps.h"
#include "phiq/Quant/BlockFormat.h"

#include "onnx/onnx.pb.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/Verifier.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/ADT/StringSet.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <set>

using namespace mlir;
using namespace mlir::phi;
using namespace phiq::onnx;
namespace quant = ::phiq::quant;
namespace params = ::phiq::params;
using llvm::Error;
using llvm::Expected;

namespace {

/// The ops a Phi-3 decoder is written in (PhiQ's writer and
/// torch.onnx.export); anything else is refused.
bool isKnownOp(const ::onnx::NodeProto &node) {
  if (node.domain() == "com.microsoft")
    return node.op_type() == "MatMulNBits" ||
           node.op_type() == "GatherBlockQuantized";
  if (!node.domain().empty() && node.domain() != "ai.onnx")
    return false;
  // DequantizeLinear: per-channel int8 weights (qdqWeight checks the form).
  static const llvm::StringSet<> known = {
      "Add",       "And",        "Cast",       "Concat",      "Constant",
      "ConstantOfShape", "Cos",  "Div",        "Equal",       "Expand",
      "Gather",    "Gemm",       "Greater",    "Identity",    "Less",
      "LessOrEqual", "MatMul",   "Min",        "Mul",         "Neg",
      "Pow",       "Range",      "Reciprocal", "ReduceMean",  "Reshape",
      "Shape",     "Sigmoid",    "Sin",        "Slice",       "Softmax",
      "Split",     "Sqrt",       "Sub",        "Transpose",   "Unsqueeze",
      "Where",     "LayerNormalization", "GatherND", "CumSum", "Not",
      "Max",       "Squeeze",    "Neg",        "DequantizeLinear"};
  return known.contains(node.op_type());
}

/// `value` rounded to `digits` significant decimal digits.
double roundToDigits(double value, int digits) {
  char text[64];
  std::snprintf(text, sizeof(text), "%.*e", digits - 1, value);
  return std::strtod(text, nullptr);
}

std::string dimsString(ArrayRef<int64_t> dims) {
  return "[" +
         llvm::join(llvm::map_range(dims,
                                    [](int64_t d) { return std::to_string(d); }),
                    ", ") +
         "]";
}

/// The graph with its def-use tables and constant values.
class Graph {
public:
  explicit Graph(const ONNXModelFile &file) : file(file) {
    const ::onnx::GraphProto &g = file.getModel().graph();
    for (const ::onnx::TensorProto &t : g.initializer())
      initializers[t.name()] = &t;
    for (const ::onnx::NodeProto &node : g.node()) {
      for (const std::string &out : node.output())
        producers[out] = &node;
      for (const std::string &in : node.input())
        if (!in.empty())
          consumers[in].push_back(&node);
    }
  }

  std::string nodeName(const ::onnx::NodeProto &node) const {
    return "node '" + node.name() + "' (" + node.op_type() + ")";
  }

  const ::onnx::NodeProto *producer(StringRef value) const {
    return producers.lookup(value);
  }
  ArrayRef<const ::onnx::NodeProto *> users(StringRef value) const {
    auto it = consumers.find(value);
    if (it == consumers.end())
      return {};
    return it->second;
  }
  /// The value `value` is a Cast or Identity of, repeatedly.
  std::string throughCasts(std::string value) const {
    while (const ::onnx::NodeProto *p = producer(value))
      if ((p->op_type() == "Cast" || p->op_type() == "Identity") &&
          p->input_size() == 1)
        value = p->input(0);
      else
        break;
    return value;
  }

  /// The elements of a constant (an initializer or a Constant node's
  /// output) as doubles, with its dims; nullopt if `value` is computed.
  std::optional<std::vector<double>>
  constant(StringRef value, SmallVectorImpl<int64_t> *dims = nullptr) const {
    std::string name = throughCasts(value.str());
    if (const ::onnx::TensorProto *t = initializers.lookup(name))
      return tensorValues(*t, dims);
    if (const ::onnx::NodeProto *p = producer(name);
        p && p->op_type() == "Constant")
      for (const ::onnx::AttributeProto &a : p->attribute()) {
        if (a.name() == "value" && a.has_t())
          return tensorValues(a.t(), dims);
        if (a.name() == "value_float")
          return std::vector<double>{a.f()};
        if (a.name() == "value_int")
          return std::vector<double>{double(a.i())};
        if (a.name() == "value_ints") {
          if (dims)
            dims->assign({int64_t(a.ints_size())});
          return std::vector<double>(a.ints().begin(), a.ints().end());
        }
      }
    return std::nullopt;
  }
  std::optional<double> scalar(StringRef value) const {
    auto v = constant(value);
    if (!v || v->size() != 1)
      return std::nullopt;
    return v->front();
  }

  const ::onnx::TensorProto *initializer(StringRef name) const {
    return initializers.lookup(name);
  }
  const ONNXModelFile &getFile() const { return file; }

private:
  std::optional<std::vector<double>>
  tensorValues(const ::onnx::TensorProto &t,
               SmallVectorImpl<int64_t> *dims) const {
    int64_t count = 1;
    if (dims)
      dims->clear();
    for (int64_t d : t.dims()) {
      count *= d;
      if (dims)
        dims->push_back(d);
    }
    std::vector<double> out;
    if (const params::TensorRef *ref = file.lookupTensor(t.name());
        ref && initializers.lookup(t.name()) == &t) {
      return bytesToDoubles(ref->dtype, ref->data, count);
    }
    if (t.has_raw_data()) {
      auto dtype = dtypeOfONNXType(t.data_type());
      if (!dtype)
        return std::nullopt;
      ArrayRef<uint8_t> raw(reinterpret_cast<const uint8_t *>(
                                t.raw_data().data()),
                            t.raw_data().size());
      if (int64_t(raw.size()) != count * int64_t(params::dtypeSize(*dtype)))
        return std::nullopt;
      return bytesToDoubles(*dtype, raw, count);
    }
    for (float f : t.float_data())
      out.push_back(f);
    for (int64_t i : t.int64_data())
      out.push_back(double(i));
    for (int32_t i : t.int32_data())
      out.push_back(double(i));
    for (double d : t.double_data())
      out.push_back(d);
    if (int64_t(out.size()) != count)
      return std::nullopt;
    return out;
  }

  static std::optional<std::vector<double>>
  bytesToDoubles(params::DType dtype, ArrayRef<uint8_t> bytes, int64_t count) {
    std::vector<double> out(static_cast<size_t>(count));
    switch (dtype) {
    case params::DType::I64:
      for (int64_t i = 0; i < count; ++i) {
        int64_t v;
        std::memcpy(&v, bytes.data() + 8 * i, 8);
        out[size_t(i)] = double(v);
      }
      return out;
    case params::DType::I32:
      for (int64_t i = 0; i < count; ++i) {
        int32_t v;
        std::memcpy(&v, bytes.data() + 4 * i, 4);
        out[size_t(i)] = double(v);
      }
      return out;
    case params::DType::F64:
      for (int64_t i = 0; i < count; ++i)
        std::memcpy(&out[size_t(i)], bytes.data() + 8 * i, 8);
      return out;
    case params::DType::I8:
      for (int64_t i = 0; i < count; ++i)
        out[size_t(i)] = double(int8_t(bytes[size_t(i)]));
      return out;
    case params::DType::U8:
      for (int64_t i = 0; i < count; ++i)
        out[size_t(i)] = double(bytes[size_t(i)]);
      return out;
    case params::DType::F32:
    case params::DType::F16:
    case params::DType::BF16: {
      std::vector<float> f(static_cast<size_t>(count));
      params::convertToF32(dtype, bytes.data(), f.data(), count);
      for (int64_t i = 0; i < count; ++i)
        out[size_t(i)] = f[size_t(i)];
      return out;
    }
    default:
      return std::nullopt;
    }
  }

  const ONNXModelFile &file;
  llvm::StringMap<const ::onnx::TensorProto *> initializers;
  llvm::StringMap<const ::onnx::NodeProto *> producers;
  llvm::StringMap<std::vector<const ::onnx::NodeProto *>> consumers;
};

/// One of the rotary cos / sin table pairs, decoded.
struct RotaryTable {
  int64_t rows = 0, half = 0;
  std::vector<double> cos, sin;
  /// inv_freq per column and the factor cos and sin are scaled by.
  std::vector<double> invFreq;
  double scale = 1.0;
  /// How far a value may be from the table: 0 for fp32 tables (matched to
  /// the bit), half an fp16 ulp for fp16 ones.
  double tolerance = 0.0;

  /// Whether cosf(p * f) * scale and sinf(...) give column i at the probe
  /// positions (within the table's precision).
  bool matches(int64_t i, float f, float scale) const {
    for (int64_t p : {int64_t(1), int64_t(2), int64_t(3), int64_t(7),
                      std::min<int64_t>(rows - 1, 100), rows / 2, rows - 1}) {
      const float a = float(p) * f;
      const double c = cos[size_t(p * half + i)], s = sin[size_t(p * half + i)];
      if (tolerance == 0.0 ? (double(cosf(a) * scale) != c ||
                              double(sinf(a) * scale) != s)
                           : (std::fabs(cosf(a) * scale - c) > tolerance ||
                              std::fabs(sinf(a) * scale - s) > tolerance))
        return false;
    }
    return true;
  }
};

/// Side files: the token ids and the rope base the graph cannot state.
struct SideConfig {
  std::optional<llvm::json::Object> config, genai;
  std::string configPath, genaiPath;
};

class Importer {
public:
  Importer(OpBuilder &b, const Graph &graph, const SideConfig &side,
           StringRef storeName)
      : b(b), graph(graph), side(side), storeName(storeName) {}

  LogicalResult fail(const Twine &message) {
    if (error.empty())
      error = message.str();
    return failure();
  }
  std::string path() const { return graph.getFile().getPath().str(); }

  LogicalResult checkOps();
  LogicalResult readSizes();
  FailureOr<RopeAttr> readRope();
  FailureOr<Value> build(Value ids);
  LogicalResult checkAllUsed();

  std::string error;
  int64_t vocab = 0, hidden = 0, layers = 0, heads = 0, kvHeads = 0,
          headDim = 0, inter = 0;
  std::optional<int64_t> window;
  bool tied = false;
  std::optional<double> softmaxScale;
  /// What the exporter put before the checkpoint names ("m." when
  /// torch.onnx.export exported a wrapper module).
  std::string prefix;
  /// torch.onnx.export keeps only the embedding and norm names; each
  /// linear's [in, out] initializer is then found by its place in the
  /// residual stream (checkpoint weight name -> initializer).
  bool structural = false;
  llvm::StringMap<std::string> structuralWeights;

private:
  Location loc(StringRef name) {
    return NameLoc::get(b.getStringAttr(name));
  }
  RankedTensorType activations(int64_t features) {
    return RankedTensorType::get(
        {ShapedType::kDynamic, ShapedType::kDynamic, features}, b.getF32Type());
  }
  /// The store's name for float initializer `name` (PhiQ's fp16 exports
  /// keep norm scales in fp32 under `name.fp32`; BF16 weights are stored
  /// as `name.bf16` behind a Cast to fp32).
  const params::TensorRef *floatTensor(StringRef name, std::string &found) {
    for (StringRef suffix : {"", ".fp32", ".fp16", ".bf16"}) {
      found = (prefix + name + suffix).str();
      if (const params::TensorRef *t = graph.getFile().lookupTensor(found))
        return t;
    }
    return nullptr;
  }
  /// A phi.weight referring to initializer `name` of dims `shape`.
  FailureOr<Value> floatWeight(StringRef name, ArrayRef<int64_t> shape,
                               StringRef why);
  FailureOr<Value> linear(StringRef name, Value x, int64_t out, int64_t in,
                          StringRef why);
  FailureOr<Value> nbitsWeight(StringRef name, int64_t out, int64_t in,
                               StringRef why);
  FailureOr<Value> qdqWeight(StringRef name, int64_t out, int64_t in,
                             StringRef why);
  FailureOr<Value> norm(StringRef name, Value x);
  FailureOr<Value> gatheredTable();
  LogicalResult mapStructure();
  FailureOr<RopeAttr> readTorchRope();
  FailureOr<double> epsilonOf(StringRef weightName);
  FailureOr<RotaryTable> table(StringRef cosName, StringRef sinName);
  double ropeTheta();

  OpBuilder &b;
  const Graph &graph;
  const SideConfig &side;
  StringRef storeName;
  llvm::StringSet<> used;
};

LogicalResult Importer::checkOps() {
  for (const ::onnx::NodeProto &node : graph.getFile().getModel().graph().node())
    if (!isKnownOp(node))
      return fail(path() + ": " + graph.nodeName(node) +
                  (node.domain().empty() ? "" : " of domain " + node.domain()) +
                  " is not an op a Phi decoder is written in; PhiQ cannot "
                  "import this graph");
  return success();
}

FailureOr<Value> Importer::floatWeight(StringRef name, ArrayRef<int64_t> shape,
                                       StringRef why) {
  std::string found;
  const params::TensorRef *t = floatTensor(name, found);
  if (!t)
    return fail(path() + ": missing initializer '" + name + "' (expected " +
                dimsString(shape) + " from " + why + ")");
  used.insert(found);
  Type element;
  switch (t->dtype) {
  case params::DType::F32:
    element = b.getF32Type();
    break;
  case params::DType::F16:
    element = b.getF16Type();
    break;
  case params::DType::BF16:
    element = b.getBF16Type();
    break;
  default:
    return fail(path() + ": initializer '" + found + "' is " +
                params::dtypeName(t->dtype) + ", expected a float type");
  }
  if (ArrayRef<int64_t>(t->shape) != shape)
    return fail(path() + ": initializer '" + found + "' has dims " +
                dimsString(t->shape) + ", expected " + dimsString(shape) +
                " from " + why);
  auto type = RankedTensorType::get(shape, element);
  auto attr = ParamAttr::get(b.getStringAttr(storeName),
                             b.getStringAttr(found), type);
  return WeightOp::create(b, loc(name), attr).getResult();
}

FailureOr<Value> Importer::nbitsWeight(StringRef name, int64_t out, int64_t in,
                                       StringRef why) {
  std::string codesName = (name + ".qweight").str();
  const ::onnx::NodeProto *node = nullptr;
  for (const ::onnx::NodeProto *user : graph.users(codesName))
    if (user->op_type() == "MatMulNBits" && user->input_size() > 1 &&
        user->input(1) == codesName)
      node = user;
  if (!node)
    return fail(path() + ": initializer '" + codesName +
                "' feeds no MatMulNBits node as its B input");
  std::string where = path() + ": " + graph.nodeName(*node) + ": ";
  std::optional<int64_t> K, N, bits, blockSize;
  for (const ::onnx::AttributeProto &a : node->attribute()) {
    if (a.name() == "K")
      K = a.i();
    else if (a.name() == "N")
      N = a.i();
    else if (a.name() == "bits")
      bits = a.i();
    else if (a.name() == "block_size")
      blockSize = a.i();
  }
  if (!K || !N || !bits || !blockSize)
    return fail(where + "MatMulNBits needs the attributes K, N, bits and "
                        "block_size");
  if (*K != in || *N != out)
    return fail(where + "MatMulNBits has K = " + Twine(*K) + ", N = " +
                Twine(*N) + ", but '" + name + "' must be " + Twine(out) +
                " x " + Twine(in) + " (" + why + ")");
  if ((*bits != 4 && *bits != 8) || *blockSize < 16 ||
      (*blockSize & (*blockSize - 1)))
    return fail(where + "MatMulNBits has bits = " + Twine(*bits) +
                " and block_size = " + Twine(*blockSize) +
                "; expected bits 4 or 8 and a power-of-two block size >= 16");
  if (*K % *blockSize)
    return fail(where + "K = " + Twine(*K) + " is not a whole number of "
                "blocks of " + Twine(*blockSize));
  for (int i = 4; i < node->input_size(); ++i)
    if (!node->input(i).empty())
      return fail(where + "MatMulNBits input " + Twine(i) +
                  (i == 4 ? " (g_idx)" : " (bias)") +
                  " is not supported");
  const int64_t blocks = *K / *blockSize;
  const int64_t codeBytes = *blockSize * *bits / 8;
  const params::TensorRef *codes =
      graph.getFile().lookupTensor(node->input(1));
  if (!codes || codes->dtype != params::DType::U8 ||
      ArrayRef<int64_t>(codes->shape) !=
          ArrayRef<int64_t>{*N, blocks, codeBytes})
    return fail(where + "B must be a uint8 initializer of dims " +
                dimsString({*N, blocks, codeBytes}) + " for K = " + Twine(*K) +
                ", N = " + Twine(*N) + ", bits = " + Twine(*bits) +
                ", block_size = " + Twine(*blockSize) +
                (codes ? ", got " + std::string(params::dtypeName(codes->dtype)) +
                             " " + dimsString(codes->shape)
                       : std::string(", got no initializer")));
  const params::TensorRef *scales =
      node->input_size() > 2 ? graph.getFile().lookupTensor(node->input(2))
                             : nullptr;
  if (!scales ||
      (scales->dtype != params::DType::F32 &&
       scales->dtype != params::DType::F16) ||
      scales->numElements() != *N * blocks)
    return fail(where + "scales must be a float initializer of " +
                Twine(*N * blocks) + " elements (N x K / block_size)");
  const params::TensorRef *zps = nullptr;
  if (node->input_size() > 3 && !node->input(3).empty()) {
    zps = graph.getFile().lookupTensor(node->input(3));
    const int64_t rowBytes = (blocks * *bits + 7) / 8;
    if (!zps || zps->dtype != params::DType::U8 ||
        zps->numElements() != *N * rowBytes)
      return fail(where + "zero_points must be a uint8 initializer of " +
                  Twine(*N * rowBytes) +
                  " elements (N x ceil(blocks * bits / 8))");
  }
  auto format = quant::matMulNBitsFormat(int(*bits), *blockSize,
                                         /*symmetric=*/!zps,
                                         scales->dtype == params::DType::F16);
  if (!format)
    return fail(where + "no PhiQ format holds MatMulNBits bits = " +
                Twine(*bits) + ", block_size = " + Twine(*blockSize));
  auto param = [&](const params::TensorRef *t) {
    Type element = t->dtype == params::DType::F32   ? Type(b.getF32Type())
                   : t->dtype == params::DType::F16 ? Type(b.getF16Type())
                                                    : Type(b.getIntegerType(8, false));
    used.insert(t->name);
    return ParamAttr::get(b.getStringAttr(storeName), b.getStringAttr(t->name),
                          RankedTensorType::get(t->shape, element));
  };
  auto blocksType = mlir::phiq_ir::BlocksType::get(
      b.getContext(), {out, in},
      mlir::phiq_ir::SchemeAttr::get(b.getContext(), *format));
  auto packed = mlir::phiq_ir::PackedWeightOp::create(
      b, loc(name), blocksType, param(codes), param(scales),
      zps ? param(zps) : ParamAttr());
  return mlir::phiq_ir::DequantizeOp::create(b, loc(name),
                                             blocksType.getLogicalType(),
                                             packed.getResult())
      .getResult();
}

/// PhiQ's QDQ8_CHANNEL form (what onnxruntime.quantization writes for a
/// per-channel weight): int8 [out, in] `name.qdq` into DequantizeLinear with
/// axis 0, one f32 scale per row and zero points that are all 0. The codes
/// and scales are mapped as a planar phiq.packed_weight; any other QDQ
/// form is refused with the node named.
FailureOr<Value> Importer::qdqWeight(StringRef name, int64_t out, int64_t in,
                                     StringRef why) {
  std::string codesName = (name + ".qdq").str();
  const ::onnx::NodeProto *node = nullptr;
  for (const ::onnx::NodeProto *user : graph.users(codesName))
    if (user->op_type() == "DequantizeLinear" && user->input(0) == codesName)
      node = user;
  if (!node)
    return fail(path() + ": initializer '" + codesName +
                "' feeds no DequantizeLinear node as its x input");
  std::string where = path() + ": " + graph.nodeName(*node) + ": ";
  const std::string accepted =
      "; PhiQ imports per-channel int8 weights: DequantizeLinear(axis=0) "
      "of int8 [out, in] codes, one float scale per row, zero points 0";
  int64_t axis = 1; // ONNX's default
  for (const ::onnx::AttributeProto &a : node->attribute()) {
    if (a.name() == "axis")
      axis = a.i();
    else if (a.name() == "block_size" && a.i() != 0)
      return fail(where + "blocked quantization (block_size = " +
                  Twine(a.i()) + ") is not accepted" + accepted);
  }
  const params::TensorRef *codes = graph.getFile().lookupTensor(codesName);
  if (codes->dtype != params::DType::I8)
    return fail(where + "codes are " + params::dtypeName(codes->dtype) +
                ", not int8" + accepted);
  if (ArrayRef<int64_t>(codes->shape) != ArrayRef<int64_t>{out, in})
    return fail(where + "codes have dims " + dimsString(codes->shape) +
                ", expected " + dimsString({out, in}) + " (" + why + ")");
  const params::TensorRef *scales =
      node->input_size() > 1 ? graph.getFile().lookupTensor(node->input(1))
                             : nullptr;
  if (!scales || scales->dtype != params::DType::F32)
    return fail(where + "the scale must be a float initializer" + accepted);
  if (scales->numElements() == 1 && out != 1)
    return fail(where + "a per-tensor scale is not accepted" + accepted);
  if (axis != 0 && axis != -2)
    return fail(where + "axis = " + Twine(axis) +
                " quantizes per input column, not per output row" + accepted);
  if (ArrayRef<int64_t>(scales->shape) != ArrayRef<int64_t>{out})
    return fail(where + "the scale has dims " + dimsString(scales->shape) +
                ", expected " + dimsString({out}) + accepted);
  if (node->input_size() > 2 && !node->input(2).empty()) {
    const params::TensorRef *zps = graph.getFile().lookupTensor(node->input(2));
    if (!zps || zps->dtype != params::DType::I8 || zps->numElements() != out)
      return fail(where + "the zero point must be an int8 initializer of " +
                  Twine(out) + " elements" + accepted);
    auto values = graph.constant(node->input(2));
    if (!values)
      return fail(where + "cannot read the zero point '" + zps->name + "'");
    for (int64_t r = 0; r < out; ++r)
      if ((*values)[size_t(r)] != 0)
        return fail(where + "zero point " + Twine(int64_t((*values)[size_t(r)])) +
                    " at row " + Twine(r) + " (asymmetric) is not accepted" +
                    accepted);
    used.insert(zps->name);
  }
  auto param = [&](const params::TensorRef *t) {
    used.insert(t->name);
    return ParamAttr::get(
        b.getStringAttr(storeName), b.getStringAttr(t->name),
        RankedTensorType::get(
            t->shape, phi::dtypeToElementType(b.getContext(), t->dtype)));
  };
  auto blocksType = mlir::phiq_ir::BlocksType::get(
      b.getContext(), {out, in},
      mlir::phiq_ir::SchemeAttr::get(b.getContext(),
                                     quant::BlockFormat::QDQ8_CHANNEL));
  auto packed = mlir::phiq_ir::PackedWeightOp::create(
      b, loc(name), blocksType, param(codes), param(scales), ParamAttr());
  return mlir::phiq_ir::DequantizeOp::create(b, loc(name),
                                             blocksType.getLogicalType(),
                                             packed.getResult())
      .getResult();
}

FailureOr<Value> Importer::gatheredTable() {
  const std::string dataName = "model.embed_tokens.weight.gather.data";
  const ::onnx::NodeProto *node = nullptr;
  for (const ::onnx::NodeProto *user : graph.users(dataName))
    if (user->op_type() == "GatherBlockQuantized" && user->input(0) == dataName)
      node = user;
  if (!node)
    return fail(path() + ": missing the embedding table: no "
                         "'model.embed_tokens.weight', and no "
                         "GatherBlockQuantized of '" + dataName + "'");
  std::string where = path() + ": " + graph.nodeName(*node) + ": ";
  int64_t bits = 4, blockSize = 128, gatherAxis = 0, quantizeAxis = 1;
  for (const ::onnx::AttributeProto &a : node->attribute()) {
    if (a.name() == "bits")
      bits = a.i();
    else if (a.name() == "block_size")
      blockSize = a.i();
    else if (a.name() == "gather_axis")
      gatherAxis = a.i();
    else if (a.name() == "quantize_axis")
      quantizeAxis = a.i();
  }
  if (gatherAxis != 0 || quantizeAxis != 1 || hidden % blockSize)
    return fail(where + "expected gather_axis 0, quantize_axis 1 and whole "
                        "blocks of block_size along the hidden size");
  const int64_t blocks = hidden / blockSize;
  const params::TensorRef *codes = graph.getFile().lookupTensor(dataName);
  const params::TensorRef *scales =
      node->input_size() > 2 ? graph.getFile().lookupTensor(node->input(2))
                             : nullptr;
  const params::TensorRef *zps =
      node->input_size() > 3 && !node->input(3).empty()
          ? graph.getFile().lookupTensor(node->input(3))
          : nullptr;
  if (!scales || scales->numElements() != vocab * blocks ||
      (scales->dtype != params::DType::F32 &&
       scales->dtype != params::DType::F16))
    return fail(where + "scales must be a float initializer of " +
                Twine(vocab * blocks) + " elements (vocab x hidden / "
                "block_size)");
  auto format = quant::matMulNBitsFormat(int(bits), blockSize, !zps,
                                         scales->dtype == params::DType::F16);
  if (!format)
    return fail(where + "no PhiQ format holds bits = " + Twine(bits) +
                ", block_size = " + Twine(blockSize));
  auto param = [&](const params::TensorRef *t) {
    Type element = t->dtype == params::DType::F32   ? Type(b.getF32Type())
                   : t->dtype == params::DType::F16 ? Type(b.getF16Type())
                                                    : Type(b.getIntegerType(8, false));
    used.insert(t->name);
    return ParamAttr::get(b.getStringAttr(storeName), b.getStringAttr(t->name),
                          RankedTensorType::get(t->shape, element));
  };
  auto blocksType = mlir::phiq_ir::BlocksType::get(
      b.getContext(), {vocab, hidden},
      mlir::phiq_ir::SchemeAttr::get(b.getContext(), *format));
  // The packed op's verifier checks the codes and zero point counts.
  auto packed = mlir::phiq_ir::PackedWeightOp::create(
      b, loc("model.embed_tokens.weight"), blocksType, param(codes),
      param(scales), zps ? param(zps) : ParamAttr());
  if (failed(mlir::verify(packed)))
    return fail(where + "the codes or zero points do not fit " +
                Twine(vocab) + " x " + Twine(hidden) + " " +
                quant::formatInfo(*format).name);
  return mlir::phiq_ir::DequantizeOp::create(b, loc("model.embed_tokens.weight"),
                                             blocksType.getLogicalType(),
                                             packed.getResult())
      .getResult();
}

FailureOr<Value> Importer::linear(StringRef name, Value x, int64_t out,
                                  int64_t in, StringRef why) {
  Value w;
  if (structural) {
    auto it = structuralWeights.find(name);
    if (it == structuralWeights.end())
      return fail(path() + ": found no MatMul for '" + name + "'");
    const params::TensorRef *t = graph.getFile().lookupTensor(it->second);
    if (!t || ArrayRef<int64_t>(t->shape) != ArrayRef<int64_t>{in, out})
      return fail(path() + ": initializer '" + it->second + "' (the " + name +
                  " of the graph) has dims " +
                  dimsString(t ? ArrayRef<int64_t>(t->shape)
                               : ArrayRef<int64_t>()) +
                  ", expected [" + Twine(in) + ", " + Twine(out) + "] from " +
                  why);
    Type element = t->dtype == params::DType::F16 ? Type(b.getF16Type())
                   : t->dtype == params::DType::BF16 ? Type(b.getBF16Type())
                                                     : Type(b.getF32Type());
    used.insert(it->second);
    // W^T as stored, read through the store's transposed view.
    auto attr = ParamAttr::get(
        b.getStringAttr(storeName),
        b.getStringAttr(it->second + kTransposedSuffix.str()),
        RankedTensorType::get({out, in}, element));
    w = WeightOp::create(b, loc(name), attr).getResult();
  } else if (std::string found; floatTensor(name, found)) {
    // A float matrix: [out, in] through Transpose(perm = [1, 0]) into MatMul
    // (the layout phi.linear reads, mapped as it is).
    for (const ::onnx::NodeProto *user : graph.users(found))
      if (user->op_type() == "MatMul")
        return fail(path() + ": initializer '" + name + "' feeds " +
                    graph.nodeName(*user) +
                    " untransposed ([in, out]); PhiQ maps linear weights "
                    "in the checkpoint's [out, in] layout through a "
                    "Transpose");
    auto weight = floatWeight(name, {out, in}, why);
    if (failed(weight))
      return failure();
    w = *weight;
  } else if (graph.getFile().lookupTensor((name + ".qweight").str())) {
    auto weight = nbitsWeight(name, out, in, why);
    if (failed(weight))
      return failure();
    w = *weight;
  } else if (graph.getFile().lookupTensor((name + ".qdq").str())) {
    auto weight = qdqWeight(name, out, in, why);
    if (failed(weight))
      return failure();
    w = *weight;
  } else {
    return fail(path() + ": missing initializer '" + name + "' (or '" + name +
                ".qweight' of a MatMulNBits, or '" + name +
                ".qdq' of a DequantizeLinear), expected " + Twine(out) + " x " +
                Twine(in) + " from " + why);
  }
  StringRef scope = name.drop_back(name.ends_with(".weight") ? 7 : 0);
  return LinearOp::create(b, loc(scope), activations(out), x, w, Value())
      .getResult();
}

FailureOr<double> Importer::epsilonOf(StringRef weightName) {
  // y = w * (x * 1 / sqrt(ReduceMean(x * x) + eps)): from the Mul reading
  // the scale, find the Add whose other input is ReduceMean's output.
  std::string found;
  if (!floatTensor(weightName, found))
    return fail(path() + ": missing initializer '" + weightName + "'");
  for (const ::onnx::NodeProto *user : graph.users(found)) {
    if (user->op_type() != "Mul")
      continue;
    SmallVector<std::pair<std::string, int>> work;
    for (const std::string &in : user->input())
      if (in != found)
        work.push_back({in, 0});
    while (!work.empty()) {
      auto [value, depth] = work.pop_back_val();
      const ::onnx::NodeProto *p = graph.producer(value);
      if (!p || depth > 8)
        continue;
      if (p->op_type() == "Add" && p->input_size() == 2)
        for (int i = 0; i < 2; ++i) {
          const ::onnx::NodeProto *mean =
              graph.producer(graph.throughCasts(p->input(i)));
          if (mean && mean->op_type() == "ReduceMean")
            if (auto eps = graph.scalar(p->input(1 - i)))
              return *eps;
        }
      for (const std::string &in : p->input())
        work.push_back({in, depth + 1});
    }
  }
  return fail(path() + ": cannot find the epsilon of the RMS norm scaled by '" +
              found + "' (expected Mul(scale, x / sqrt(ReduceMean(x^2) + eps)))");
}

FailureOr<Value> Importer::norm(StringRef name, Value x) {
  std::string weightName = (name + ".weight").str();
  auto eps = epsilonOf(weightName);
  if (failed(eps))
    return failure();
  auto w = floatWeight(weightName, {hidden}, "hidden_size");
  if (failed(w))
    return failure();
  // The ONNX constant is a float; the checkpoint's value is its shortest
  // decimal (1e-05), which phi-run rounds back to the same float.
  double value = *eps;
  for (int digits = 1; digits <= 9; ++digits) {
    double candidate = roundToDigits(value, digits);
    if (float(candidate) == float(value)) {
      value = candidate;
      break;
    }
  }
  return RmsNormOp::create(b, loc(name), x.getType(), x, *w, Value(),
                           b.getF64FloatAttr(value))
      .getResult();
}

LogicalResult Importer::readSizes() {
  const params::TensorRef *embed = nullptr;
  for (const params::TensorRef &t : graph.getFile().getTensors()) {
    StringRef name = t.name;
    name.consume_back(".bf16"); // a BF16 export keeps the table so
    if (name.ends_with("model.embed_tokens.weight")) {
      embed = &t;
      prefix = name.drop_back(25).str();
    }
  }
  // A GatherBlockQuantized table: [vocab, hidden * bits / 8] codes.
  if (const params::TensorRef *codes = graph.getFile().lookupTensor(
          "model.embed_tokens.weight.gather.data");
      !embed && codes && codes->shape.size() == 2)
    for (const ::onnx::NodeProto *user :
         graph.users("model.embed_tokens.weight.gather.data"))
      for (const ::onnx::AttributeProto &a : user->attribute())
        if (a.name() == "bits" && (a.i() == 4 || a.i() == 8)) {
          vocab = codes->shape[0];
          hidden = codes->shape[1] * 8 / a.i();
        }
  const bool gatheredTable = vocab && hidden;
  if (!gatheredTable && (!embed || embed->shape.size() != 2))
    return fail(path() + ": missing the embedding table initializer "
                         "'model.embed_tokens.weight' [vocab, hidden]");
  if (!gatheredTable) {
    vocab = embed->shape[0];
    hidden = embed->shape[1];
  }
  while (true) {
    std::string found;
    if (!floatTensor("model.layers." + std::to_string(layers) +
                         ".input_layernorm.weight",
                     found))
      break;
    ++layers;
  }
  if (layers == 0)
    return fail(path() + ": no 'model.layers.0.input_layernorm.weight': "
                         "not a Phi-3 decoder");
  // Projection sizes from layer 0 (float dims or MatMulNBits' N and K).
  // PhiQ's exports name the projections (float, bf16, MatMulNBits or QDQ);
  // a torch.onnx.export does not, and is mapped by its structure.
  const std::string qkv0 = "model.layers.0.self_attn.qkv_proj.weight";
  if (llvm::none_of(ArrayRef<StringRef>{"", ".bf16", ".qweight", ".qdq"},
                    [&](StringRef suffix) {
                      return graph.getFile().lookupTensor(qkv0 + suffix.str());
                    })) {
    structural = true;
    if (failed(mapStructure()))
      return failure();
  }
  auto sizesOf = [&](StringRef name) -> std::optional<std::pair<int64_t, int64_t>> {
    if (structural) {
      auto it = structuralWeights.find(name);
      if (it == structuralWeights.end())
        return std::nullopt;
      const params::TensorRef *t = graph.getFile().lookupTensor(it->second);
      return std::make_pair(t->shape[1], t->shape[0]);
    }
    // Float or bf16 [out, in], or QDQ's int8 [out, in] codes.
    for (StringRef suffix : {"", ".bf16", ".qdq"})
      if (const params::TensorRef *t =
              graph.getFile().lookupTensor((name + suffix).str()))
        if (t->shape.size() == 2)
          return std::make_pair(t->shape[0], t->shape[1]);
    std::string q = (name + ".qweight").str();
    // N from B's rows (nbitsWeight checks the N attribute against it).
    const params::TensorRef *codes = graph.getFile().lookupTensor(q);
    for (const ::onnx::NodeProto *user : graph.users(q))
      if (user->op_type() == "MatMulNBits" && codes && !codes->shape.empty()) {
        int64_t K = 0;
        for (const ::onnx::AttributeProto &a : user->attribute())
          if (a.name() == "K")
            K = a.i();
        return std::make_pair(codes->shape[0], K);
      }
    return std::nullopt;
  };
  auto qkv = sizesOf("model.layers.0.self_attn.qkv_proj.weight");
  auto o = sizesOf("model.layers.0.self_attn.o_proj.weight");
  auto down = sizesOf("model.layers.0.mlp.down_proj.weight");
  if (!qkv || !o || !down)
    return fail(path() + ": layer 0 lacks the initializers of "
                         "self_attn.qkv_proj, self_attn.o_proj or "
                         "mlp.down_proj");
  inter = down->second;
  const int64_t qDim = o->second, qkvDim = qkv->first;
  // Head size: a Reshape into [.., .., heads, head_dim] whose head_dim
  // solves qDim = heads * D and qkvDim = qDim + 2 * kv_heads * D.
  std::set<int64_t> candidates;
  for (const ::onnx::NodeProto &node : graph.getFile().getModel().graph().node())
    if (node.op_type() == "Reshape" && node.input_size() == 2)
      if (auto shape = graph.constant(node.input(1)); shape && shape->size() == 4)
        if (shape->back() > 0)
          candidates.insert(int64_t(shape->back()));
  for (int64_t D : candidates) {
    if (qDim % D || (qkvDim - qDim) % (2 * D))
      continue;
    headDim = D;
    heads = qDim / D;
    kvHeads = (qkvDim - qDim) / (2 * D);
  }
  if (headDim == 0 || kvHeads == 0 || heads % kvHeads)
    return fail(path() + ": no Reshape into heads gives a head size that "
                         "divides the projections (q: " +
                Twine(qDim) + ", qkv: " + Twine(qkvDim) + ")");
  // Softmax scale: Softmax(Where(mask, Mul(MatMul(Q, K^T), s), floor)).
  for (const ::onnx::NodeProto &node : graph.getFile().getModel().graph().node()) {
    // PhiQ: Less(query - key, window); torch: Greater(key, query - window).
    if (node.op_type() == "Less" && node.input_size() == 2) {
      const ::onnx::NodeProto *sub = graph.producer(node.input(0));
      if (sub && sub->op_type() == "Sub")
        if (auto w = graph.scalar(node.input(1)))
          window = int64_t(*w);
    }
    if (node.op_type() == "Greater" && node.input_size() == 2) {
      const ::onnx::NodeProto *sub = graph.producer(node.input(1));
      if (sub && sub->op_type() == "Sub")
        if (auto w = graph.scalar(sub->input(1)))
          window = int64_t(*w);
    }
    if (node.op_type() != "Softmax" || softmaxScale)
      continue;
    std::string in = graph.throughCasts(node.input(0));
    const ::onnx::NodeProto *p = graph.producer(in);
    if (p && p->op_type() == "Where")
      p = graph.producer(graph.throughCasts(p->input(1)));
    // torch: Softmax(Add(Mul(Q K^T, scale), mask)).
    if (p && p->op_type() == "Add")
      for (int i = 0; i < 2; ++i)
        if (const ::onnx::NodeProto *m = graph.producer(p->input(i));
            m && m->op_type() == "Mul") {
          p = m;
          break;
        }
    if (p && (p->op_type() == "Mul" || p->op_type() == "Div"))
      for (int i = 0; i < 2; ++i)
        if (auto s = graph.scalar(p->input(i))) {
          softmaxScale = p->op_type() == "Mul" ? *s : 1.0 / *s;
          break;
        }
  }
  if (!softmaxScale)
    return fail(path() + ": cannot find the attention's softmax scale "
                         "(Softmax of Mul(Q K^T, scale))");
  return success();
}

LogicalResult Importer::mapStructure() {
  // The output of the Mul by norm scale `weightName`, and the x the norm
  // reads: Mul(scale, Mul(x, Reciprocal(Sqrt(...)))).
  auto normOf = [&](StringRef weightName, std::string &out,
                    std::string &x) -> LogicalResult {
    std::string found;
    if (!floatTensor(weightName, found))
      return fail(path() + ": missing the norm scale '" + prefix + weightName +
                  "'");
    for (const ::onnx::NodeProto *user : graph.users(found)) {
      if (user->op_type() != "Mul")
        continue;
      const std::string &other =
          user->input(0) == found ? user->input(1) : user->input(0);
      const ::onnx::NodeProto *scaled = graph.producer(graph.throughCasts(other));
      if (!scaled || scaled->op_type() != "Mul")
        continue;
      for (int i = 0; i < 2; ++i) {
        const ::onnx::NodeProto *r = graph.producer(scaled->input(1 - i));
        if (r && r->op_type() == "Reciprocal") {
          out = user->output(0);
          x = graph.throughCasts(scaled->input(i));
          return success();
        }
      }
    }
    return fail(path() + ": the scale '" + found + "' is not applied as an "
                "RMS norm (Mul(scale, Mul(x, Reciprocal(Sqrt(mean + eps)))))");
  };
  // B of the MatMul that multiplies `value` by an initializer.
  auto matmulOf = [&](StringRef value, StringRef what) -> FailureOr<std::string> {
    for (const ::onnx::NodeProto *user : graph.users(value))
      if (user->op_type() == "MatMul" && user->input(0) == value)
        if (const params::TensorRef *t =
                graph.getFile().lookupTensor(user->input(1));
            t && t->shape.size() == 2)
          return user->input(1);
    return fail(path() + ": no MatMul by a weight initializer reads '" +
                value + "' (" + what + ")");
  };
  // The Add of the residual stream `resid` and a MatMul by a weight: its B
  // and its output.
  auto residualOf = [&](StringRef resid, std::string &weight, std::string &out,
                        StringRef what) -> LogicalResult {
    for (const ::onnx::NodeProto *user : graph.users(resid)) {
      if (user->op_type() != "Add" || user->input_size() != 2)
        continue;
      const std::string &other =
          user->input(0) == resid ? user->input(1) : user->input(0);
      const ::onnx::NodeProto *p = graph.producer(other);
      if (p && p->op_type() == "MatMul" &&
          graph.getFile().lookupTensor(p->input(1))) {
        weight = p->input(1);
        out = user->output(0);
        return success();
      }
    }
    return fail(path() + ": the residual stream '" + resid +
                "' is not added to a MatMul by a weight (" + what + ")");
  };

  std::string resid;
  for (const ::onnx::NodeProto *user :
       graph.users(prefix + "model.embed_tokens.weight"))
    if (user->op_type() == "Gather")
      resid = user->output(0);
  if (resid.empty())
    return fail(path() + ": the embedding table is not read by a Gather");
  for (int64_t l = 0; l < layers; ++l) {
    std::string p = "model.layers." + std::to_string(l) + ".";
    std::string n1, x1, n2, x2, mid, next;
    if (failed(normOf(p + "input_layernorm.weight", n1, x1)))
      return failure();
    if (x1 != resid)
      return fail(path() + ": layer " + Twine(l) + "'s input norm reads '" +
                  x1 + "', not the residual stream '" + resid + "'");
    auto qkv = matmulOf(n1, p + "self_attn.qkv_proj");
    if (failed(qkv) ||
        failed(residualOf(resid, structuralWeights[p + "self_attn.o_proj.weight"],
                          mid, p + "self_attn.o_proj")) ||
        failed(normOf(p + "post_attention_layernorm.weight", n2, x2)))
      return failure();
    if (x2 != mid)
      return fail(path() + ": layer " + Twine(l) +
                  "'s post-attention norm reads '" + x2 +
                  "', not the residual stream '" + mid + "'");
    auto gateUp = matmulOf(n2, p + "mlp.gate_up_proj");
    if (failed(gateUp) ||
        failed(residualOf(mid, structuralWeights[p + "mlp.down_proj.weight"],
                          next, p + "mlp.down_proj")))
      return failure();
    structuralWeights[p + "self_attn.qkv_proj.weight"] = *qkv;
    structuralWeights[p + "mlp.gate_up_proj.weight"] = *gateUp;
    resid = next;
  }
  std::string nf, xf;
  if (failed(normOf("model.norm.weight", nf, xf)))
    return failure();
  if (xf != resid)
    return fail(path() + ": the final norm reads '" + xf +
                "', not the residual stream '" + resid + "'");
  for (const ::onnx::NodeProto *user : graph.users(nf))
    if (user->op_type() == "MatMul" && user->input(0) == nf &&
        graph.getFile().lookupTensor(user->input(1)))
      structuralWeights["lm_head.weight"] = user->input(1);
  return success();
}

FailureOr<RopeAttr> Importer::readTorchRope() {
  // cos(Concat(f, f)) * factor with f = Transpose(MatMul(inv_freq, pos)).
  const ::onnx::NodeProto *cosNode = nullptr;
  for (const ::onnx::NodeProto &node : graph.getFile().getModel().graph().node())
    if (node.op_type() == "Cos" && !cosNode)
      cosNode = &node;
  std::vector<double> invFreq;
  if (cosNode) {
    const ::onnx::NodeProto *cat = graph.producer(cosNode->input(0));
    const ::onnx::NodeProto *t =
        cat && cat->op_type() == "Concat" && cat->input_size() == 2 &&
                cat->input(0) == cat->input(1)
            ? graph.producer(cat->input(0))
            : nullptr;
    const ::onnx::NodeProto *mm =
        t && t->op_type() == "Transpose" ? graph.producer(t->input(0)) : nullptr;
    if (mm && mm->op_type() == "MatMul")
      for (int i = 0; i < 2 && invFreq.empty(); ++i)
        if (auto v = graph.constant(mm->input(i)))
          invFreq = *v;
  }
  if (invFreq.empty())
    return fail(path() + ": found neither cos/sin tables nor the "
                         "cos(Concat(f, f)) of f = inv_freq x positions");
  double scale = 1.0;
  for (const ::onnx::NodeProto *user : graph.users(cosNode->output(0)))
    if (user->op_type() == "Mul")
      for (int i = 0; i < 2; ++i)
        if (auto sc = graph.scalar(user->input(i)))
          scale = *sc;
  const int64_t rotaryDim = 2 * int64_t(invFreq.size());
  if (!side.config)
    return fail(path() + ": the graph computes the rotary angles from one "
                         "inv_freq; the context lengths and the other rope "
                         "factors are not in it: put the model's config.json "
                         "beside it");
  const llvm::json::Object &c = *side.config;
  const llvm::json::Object *scaling = c.getObject("rope_scaling");
  if (!scaling)
    scaling = c.getObject("rope_parameters");
  auto maxPos = c.getInteger("max_position_embeddings");
  auto original = c.getInteger("original_max_position_embeddings");
  if (!original && scaling)
    original = scaling->getInteger("original_max_position_embeddings");
  if (!maxPos)
    return fail(side.configPath + ": needs max_position_embeddings");
  const float base = float(ropeTheta());
  auto freqAt = [&](size_t i) {
    return std::pow(base, float(2 * int64_t(i)) / float(rotaryDim));
  };
  std::optional<StringRef> type;
  if (scaling) {
    type = scaling->getString("rope_type");
    if (!type)
      type = scaling->getString("type");
  }
  if (!type || *type == "default") {
    for (size_t i = 0; i < invFreq.size(); ++i)
      if (float(invFreq[i]) != 1.0f / freqAt(i))
        return fail(path() + ": inv_freq[" + Twine(i) + "] = " +
                    std::to_string(invFreq[i]) + " is not 1 / rope_theta^(2i/d) for " +
                    side.configPath + "'s rope_theta");
    return RopeAttr::get(b.getContext(), RopeKind::Default,
                         b.getF64FloatAttr(ropeTheta()), rotaryDim, *maxPos,
                         *maxPos, b.getF64FloatAttr(scale), DenseF64ArrayAttr(),
                         DenseF64ArrayAttr(), FloatAttr());
  }
  if (*type != "longrope" || !original)
    return fail(side.configPath + ": rope type '" + *type +
                "' is not one PhiQ reads from a torch export");
  // torch.export traces one branch of longrope's switch: inv_freq holds
  // the short factors. They are checked against config.json's, and the
  // long ones (not in the graph) are config.json's.
  auto factorsFrom = [&](StringRef key) {
    SmallVector<double> f;
    if (const llvm::json::Array *a = scaling->getArray(key))
      for (const llvm::json::Value &v : *a)
        if (auto d = v.getAsNumber())
          f.push_back(*d);
    return f;
  };
  SmallVector<double> shortF = factorsFrom("short_factor"),
                      longF = factorsFrom("long_factor");
  if (shortF.size() != invFreq.size() || longF.size() != invFreq.size())
    return fail(side.configPath + ": expected " + Twine(invFreq.size()) +
                " short and long rope factors (rotary_dim / 2 of the graph)");
  for (size_t i = 0; i < invFreq.size(); ++i)
    if (1.0f / (float(shortF[i]) * freqAt(i)) != float(invFreq[i]))
      return fail(path() + ": the graph's inv_freq[" + Twine(i) + "] = " +
                  std::to_string(invFreq[i]) + " is not that of " + side.configPath +
                  "'s short_factor " + std::to_string(shortF[i]));
  double implied =
      RopeAttr::impliedAttentionFactor(RopeKind::LongRope, *original, *maxPos);
  double attention = float(implied) == float(scale) ? implied : scale;
  return RopeAttr::get(b.getContext(), RopeKind::LongRope,
                       b.getF64FloatAttr(ropeTheta()), rotaryDim, *original,
                       *maxPos, b.getF64FloatAttr(attention),
                       b.getDenseF64ArrayAttr(shortF),
                       b.getDenseF64ArrayAttr(longF), FloatAttr());
}

FailureOr<RotaryTable> Importer::table(StringRef cosName, StringRef sinName) {
  SmallVector<int64_t> cosDims, sinDims;
  auto cosV = graph.constant(cosName, &cosDims);
  auto sinV = graph.constant(sinName, &sinDims);
  if (!cosV || !sinV || cosDims.size() != 2 || cosDims != sinDims ||
      cosDims[0] < 2)
    return fail(path() + ": rotary tables '" + cosName + "' and '" + sinName +
                "' must be [positions, rotary_dim / 2] constants");
  used.insert(cosName);
  used.insert(sinName);
  RotaryTable t;
  t.rows = cosDims[0];
  t.half = cosDims[1];
  t.cos = std::move(*cosV);
  t.sin = std::move(*sinV);
  const ::onnx::TensorProto *init = graph.initializer(cosName);
  if (init && init->data_type() == ::onnx::TensorProto_DataType_FLOAT16)
    t.tolerance = 1e-3;
  // Row 0 is cos(0) * factor = factor.
  t.scale = t.cos[0];
  for (int64_t i = 0; i < t.half; ++i) {
    // The angle at position 1, refined at positions 4x further each time,
    // where the same table error is a 4x smaller error in inv_freq.
    auto angleAt = [&](int64_t p) {
      return std::atan2(t.sin[size_t(p * t.half + i)],
                        t.cos[size_t(p * t.half + i)]);
    };
    SmallVector<int64_t> positions;
    for (int64_t p = 4; p < t.rows - 1; p *= 4)
      positions.push_back(p);
    positions.push_back(t.rows - 1);
    double f = angleAt(1);
    for (int64_t p : positions) {
      double angle = angleAt(p);
      double turns = std::round((double(p) * f - angle) / (2 * M_PI));
      f = (angle + 2 * M_PI * turns) / double(p);
    }
    if (t.tolerance == 0.0) {
      // fp32 tables: the float inv_freq phi-run's rotary kernel would use.
      float candidate = float(f);
      for (int step = 0; step < 16; ++step)
        candidate = std::nextafter(candidate, -INFINITY);
      for (int step = 0; step < 32 && !t.matches(i, candidate, float(t.scale));
           ++step)
        candidate = std::nextafter(candidate, INFINITY);
      if (!t.matches(i, candidate, float(t.scale)))
        return fail(path() + ": rotary table '" + cosName + "' column " +
                    Twine(i) + " is not cos(position * inv_freq) * factor");
      f = candidate;
    } else if (!t.matches(i, float(f), float(t.scale))) {
      return fail(path() + ": rotary table '" + cosName + "' column " +
                  Twine(i) + " is not cos(position * inv_freq) * factor");
    }
    t.invFreq.push_back(f);
  }
  return t;
}

double Importer::ropeTheta() {
  if (side.config)
    if (auto theta = side.config->getNumber("rope_theta"))
      return *theta;
  // Every Phi-3-family checkpoint's base; only the split between the base
  // and the factors depends on it, not inv_freq (see readRope).
  return 10000.0;
}

FailureOr<RopeAttr> Importer::readRope() {
  if (!graph.initializer("cos_cache_short") && !graph.initializer("cos_cache"))
    return readTorchRope();
  const bool longrope = graph.initializer("cos_cache_short") != nullptr;
  auto shortT = longrope ? table("cos_cache_short", "sin_cache_short")
                         : table("cos_cache", "sin_cache");
  if (failed(shortT))
    return failure();
  const int64_t rotaryDim = 2 * int64_t(shortT->invFreq.size());
  if (rotaryDim > headDim)
    return fail(path() + ": the rotary tables rotate " + Twine(rotaryDim) +
                " dims, more than the head size " + Twine(headDim));
  // inv_freq[i] = 1 / (ext[i] * base^(2i / rotary_dim)), in float as
  // transformers computes it. Each factor is the shortest decimal (the
  // checkpoint's own spelling) that gives the table back at its precision.
  const float base = float(ropeTheta());
  auto factorsOf = [&](const RotaryTable &t) {
    SmallVector<double> factors;
    for (auto [i, f] : llvm::enumerate(t.invFreq)) {
      const float exponent = float(2 * int64_t(i)) / float(rotaryDim);
      const float freq = std::pow(base, exponent);
      const double exact = 1.0 / (f * double(freq));
      double chosen = exact;
      for (int digits = 1; digits <= 9; ++digits) {
        double c = roundToDigits(exact, digits);
        if (t.matches(int64_t(i), 1.0f / (float(c) * freq), float(t.scale))) {
          chosen = c;
          break;
        }
      }
      factors.push_back(chosen);
    }
    return factors;
  };
  // The attention factor transformers derives, when the table shows it.
  auto factorOf = [&](const RotaryTable &t, double implied) {
    bool same = t.tolerance == 0.0 ? float(implied) == float(t.scale)
                                   : std::fabs(implied - t.scale) <= t.tolerance;
    return same ? implied : t.scale;
  };
  if (!longrope) {
    // Default rope: the base itself is recovered from inv_freq[1].
    double theta = rotaryDim > 2
                       ? std::pow(double(shortT->invFreq[1]),
                                  -double(rotaryDim) / 2.0)
                       : ropeTheta();
    if (std::fabs(std::round(theta) - theta) < 1e-4 * theta)
      theta = std::round(theta);
    return RopeAttr::get(b.getContext(), RopeKind::Default,
                         b.getF64FloatAttr(theta), rotaryDim, shortT->rows,
                         shortT->rows, b.getF64FloatAttr(factorOf(*shortT, 1.0)),
                         DenseF64ArrayAttr(), DenseF64ArrayAttr(), FloatAttr());
  }
  auto longT = table("cos_cache_long", "sin_cache_long");
  if (failed(longT))
    return failure();
  if (longT->invFreq.size() != shortT->invFreq.size())
    return fail(path() + ": the short and long rotary tables differ in width");
  const int64_t original = shortT->rows, max = longT->rows;
  double factor = RopeAttr::impliedAttentionFactor(RopeKind::LongRope,
                                                   original, max);
  double attention = factorOf(*shortT, factor);
  FloatAttr longAttention;
  if (factorOf(*longT, attention) != attention)
    longAttention = b.getF64FloatAttr(longT->scale);
  return RopeAttr::get(b.getContext(), RopeKind::LongRope,
                       b.getF64FloatAttr(ropeTheta()), rotaryDim, original, max,
                       b.getF64FloatAttr(attention),
                       b.getDenseF64ArrayAttr(factorsOf(*shortT)),
                       b.getDenseF64ArrayAttr(factorsOf(*longT)),
                       longAttention);
}

FailureOr<Value> Importer::build(Value ids) {
  auto rope = readRope();
  if (failed(rope))
    return failure();
  // The embedding: Gather(table, input_ids).
  std::string embedName;
  FailureOr<Value> table = failure();
  if (floatTensor("model.embed_tokens.weight", embedName)) {
  // A BF16 table is read through its Cast to fp32.
  if (ArrayRef<const ::onnx::NodeProto *> readers = graph.users(embedName);
      readers.size() == 1 && readers[0]->op_type() == "Cast")
    embedName = readers[0]->output(0);
  bool gathered = false;
  for (const ::onnx::NodeProto *user : graph.users(embedName))
    gathered |= user->op_type() == "Gather" && user->input(0) == embedName;
  if (!gathered)
    return fail(path() + ": 'model.embed_tokens.weight' is not read by a "
                         "Gather (the token embedding)");
  table = floatWeight("model.embed_tokens.weight", {vocab, hidden},
                      "the embedding");
  } else {
    table = gatheredTable();
  }
  if (failed(table))
    return failure();
  Value x = EmbeddingOp::create(b, loc("model.embed_tokens"),
                                activations(hidden), ids, *table);
  const int64_t qDim = heads * headDim, kvDim = kvHeads * headDim;
  std::string qkvWhy = "(heads + 2 * kv_heads) * head_dim x hidden";
  IntegerAttr windowAttr =
      window ? b.getI64IntegerAttr(*window) : IntegerAttr();
  FloatAttr scaleAttr;
  if (float(*softmaxScale) != float(1.0 / std::sqrt(double(headDim))))
    scaleAttr = b.getF64FloatAttr(*softmaxScale);
  for (int64_t l = 0; l < layers; ++l) {
    std::string p = "model.layers." + std::to_string(l) + ".";
    auto h = norm(p + "input_layernorm", x);
    if (failed(h))
      return failure();
    auto qkv = linear(p + "self_attn.qkv_proj.weight", *h, qDim + 2 * kvDim,
                      hidden, qkvWhy);
    if (failed(qkv))
      return failure();
    auto split = SplitOp::create(
        b, loc(p + "self_attn.qkv_split"),
        TypeRange{activations(qDim), activations(kvDim), activations(kvDim)},
        *qkv);
    Value attn = AttentionOp::create(
        b, loc(p + "self_attn"), activations(qDim), split.getResult(0),
        split.getResult(1), split.getResult(2), b.getI64IntegerAttr(heads),
        b.getI64IntegerAttr(kvHeads), b.getI64IntegerAttr(headDim), *rope,
        windowAttr, scaleAttr);
    auto o = linear(p + "self_attn.o_proj.weight", attn, hidden, qDim,
                    "hidden x heads * head_dim");
    if (failed(o))
      return failure();
    x = AddOp::create(b, loc(p + "attn_residual"), x, *o);
    auto h2 = norm(p + "post_attention_layernorm", x);
    if (failed(h2))
      return failure();
    auto gateUp = linear(p + "mlp.gate_up_proj.weight", *h2, 2 * inter, hidden,
                         "2 * intermediate x hidden");
    if (failed(gateUp))
      return failure();
    Value g = GluOp::create(b, loc(p + "mlp.act"), activations(inter), *gateUp,
                            Activation::Silu);
    auto down = linear(p + "mlp.down_proj.weight", g, hidden, inter,
                       "hidden x intermediate");
    if (failed(down))
      return failure();
    x = AddOp::create(b, loc(p + "mlp_residual"), x, *down);
  }
  auto normed = norm("model.norm", x);
  if (failed(normed))
    return failure();
  std::string head = "lm_head.weight";
  std::string headFound;
  if (structuralWeights.count(head) || floatTensor(head, headFound) ||
      graph.getFile().lookupTensor(head + ".qweight") ||
      graph.getFile().lookupTensor(head + ".qdq")) {
    auto logits = linear(head, *normed, vocab, hidden, "vocab x hidden");
    if (failed(logits))
      return failure();
    // phi.linear and phi.lm_head compute the same; the head keeps its op.
    auto lin = cast<LinearOp>(logits->getDefiningOp());
    Value w = lin.getWeight();
    lin.erase();
    return LmHeadOp::create(b, loc("lm_head"), activations(vocab), *normed, w,
                            Value())
        .getResult();
  }
  // Tied and quantized: the head is a MatMulNBits of the table's blocks
  // (the embedding Gather keeps the float table).
  if (graph.getFile().lookupTensor("model.embed_tokens.weight.qweight")) {
    auto w = nbitsWeight("model.embed_tokens.weight", vocab, hidden,
                         "vocab x hidden (the tied head)");
    if (failed(w))
      return failure();
    tied = true;
    return LmHeadOp::create(b, loc("lm_head"), activations(vocab), *normed, *w,
                            Value())
        .getResult();
  }
  // Tied: the head multiplies by the embedding table (Gemm transB).
  bool headReadsTable = false;
  for (const ::onnx::NodeProto *user : graph.users(embedName))
    headReadsTable |= user->op_type() == "Gemm" || user->op_type() == "MatMul" ||
                      user->op_type() == "Transpose";
  if (!headReadsTable)
    return fail(path() + ": no 'lm_head.weight', and the embedding table "
                         "feeds no matrix product (a tied head)");
  tied = true;
  return LmHeadOp::create(b, loc("lm_head"), activations(vocab), *normed,
                          *table, Value())
      .getResult();
}

LogicalResult Importer::checkAllUsed() {
  for (const params::TensorRef &t : graph.getFile().getTensors()) {
    StringRef name = t.name;
    if (used.contains(name) || name.starts_with("/model/constants/"))
      continue;
    if (name.contains("model.") || name.contains("lm_head") ||
        t.numElements() > 4096)
      return fail(path() + ": initializer '" + name + "' " +
                  dimsString(t.shape) +
                  " is not a weight of the decoder the graph was read as");
  }
  return success();
}

/// The parsed JSON object in `path`, if the file exists.
Expected<std::optional<llvm::json::Object>> readJSON(StringRef path) {
  if (!llvm::sys::fs::exists(path))
    return std::nullopt;
  auto buffer = llvm::MemoryBuffer::getFile(path);
  if (!buffer)
    return llvm::createStringError(path + ": " + buffer.getError().message());
  auto value = llvm::json::parse((*buffer)->getBuffer());
  if (!value)
    return llvm::createStringError(path + ": " +
                                   llvm::toString(value.takeError()));
  if (!value->getAsObject())
    return llvm::createStringError(path + ": not a JSON object");
  return std::optional<llvm::json::Object>(*value->getAsObject());
}

} // namespace

bool phiq::onnx::isONNXModel(StringRef path) {
  if (llvm::sys::fs::is_directory(path)) {
    llvm::SmallString<256> model(path), config(path);
    llvm::sys::path::append(model, "model.onnx");
    llvm::sys::path::append(config, "config.json");
    return llvm::sys::fs::exists(model) && !llvm::sys::fs::exists(config);
  }
  return path.ends_with_insensitive(".onnx");
}

Expected<OwningOpRef<ModuleOp>>
phiq::onnx::importONNX(StringRef path, MLIRContext *context,
                       const ImportOptions &options) {
  context->getOrLoadDialect<PhiDialect>();
  context->getOrLoadDialect<mlir::phiq_ir::PhiQDialect>();
  llvm::SmallString<256> file(path);
  if (llvm::sys::fs::is_directory(file))
    llvm::sys::path::append(file, "model.onnx");
  llvm::SmallString<256> realPath;
  if (llvm::sys::fs::real_path(file, realPath))
    return llvm::createStringError(file + ": no such ONNX file");
  registerONNXStore();
  auto model = ONNXModelFile::open(realPath);
  if (!model)
    return model.takeError();
  Graph graph(**model);

  SideConfig side;
  llvm::SmallString<256> folder(llvm::sys::path::parent_path(realPath));
  for (auto [name, slot, slotPath] :
       {std::make_tuple("config.json", &side.config, &side.configPath),
        std::make_tuple("genai_config.json", &side.genai, &side.genaiPath)}) {
    llvm::SmallString<256> p(folder);
    llvm::sys::path::append(p, name);
    auto json = readJSON(p);
    if (!json)
      return json.takeError();
    *slot = std::move(*json);
    *slotPath = p.str().str();
  }

  OpBuilder b(context);
  Importer importer(b, graph, side, options.storeName);
  if (failed(importer.checkOps()) || failed(importer.readSizes()))
    return llvm::createStringError(importer.error);

  // Token ids and context length: config.json, else genai_config.json's
  // "model" section (what PhiQ's writer puts beside model.onnx).
  const llvm::json::Object *ids = side.config ? &*side.config : nullptr;
  std::string idsFrom = side.configPath;
  if (!ids && side.genai) {
    ids = side.genai->getObject("model");
    idsFrom = side.genaiPath;
  }
  if (!ids)
    return llvm::createStringError(
        realPath + ": the token ids are not in an ONNX graph; put the model's "
                   "config.json or genai_config.json beside it");
  auto integer = [&](StringRef key) -> std::optional<int64_t> {
    return ids->getInteger(key);
  };
  auto bos = integer("bos_token_id"), pad = integer("pad_token_id");
  SmallVector<int64_t> eos;
  if (auto single = integer("eos_token_id"))
    eos.push_back(*single);
  else if (const llvm::json::Array *list = ids->getArray("eos_token_id"))
    for (const llvm::json::Value &v : *list)
      if (auto i = v.getAsInteger())
        eos.push_back(*i);
  if (!bos || eos.empty())
    return llvm::createStringError(idsFrom +
                                   ": needs bos_token_id and eos_token_id");
  // What config.json states and the graph shows must agree.
  if (side.config) {
    auto check = [&](StringRef key, int64_t graphValue) -> Error {
      if (auto v = side.config->getInteger(key); v && *v != graphValue)
        return llvm::createStringError(
            side.configPath + ": " + key + " is " + std::to_string(*v) +
            ", but the ONNX graph has " + std::to_string(graphValue));
      return Error::success();
    };
    for (auto [key, value] :
         {std::make_pair("hidden_size", importer.hidden),
          std::make_pair("num_hidden_layers", importer.layers),
          std::make_pair("num_attention_heads", importer.heads),
          std::make_pair("num_key_value_heads", importer.kvHeads),
          std::make_pair("intermediate_size", importer.inter),
          std::make_pair("vocab_size", importer.vocab)})
      if (Error e = check(key, value))
        return e;
  }

  Location loc = FileLineColLoc::get(b.getStringAttr(realPath), 1, 1);
  OwningOpRef<ModuleOp> module = ModuleOp::create(loc);
  b.setInsertionPointToEnd(module->getBody());
  // A placeholder config (tied is known only after the head is read).
  std::string name = (*model)->getModel().graph().name();
  for (char &c : name)
    if (!llvm::isAlnum(c) && c != '_')
      c = '_';
  if (name.empty() || llvm::isDigit(name.front()))
    name = "m_" + name;
  auto stores = b.getDictionaryAttr(
      b.getNamedAttr(options.storeName, b.getStringAttr(realPath)));
  auto makeConfig = [&](int64_t maxPositions, bool tied) {
    return ConfigAttr::get(context, b.getStringAttr("Phi3ForCausalLM"),
                           importer.vocab, importer.hidden, importer.layers,
                           maxPositions, *bos, b.getDenseI64ArrayAttr(eos),
                           pad.value_or(eos.front()), b.getBoolAttr(tied));
  };
  auto phiModel = ModelOp::create(b, loc, b.getStringAttr(name),
                                  makeConfig(1, false), stores);
  Block *body = b.createBlock(&phiModel.getBody());
  Value tokenIds = body->addArgument(
      RankedTensorType::get({ShapedType::kDynamic, ShapedType::kDynamic},
                            b.getI32Type()),
      loc);
  FailureOr<Value> logits = importer.build(tokenIds);
  if (failed(logits) || failed(importer.checkAllUsed()))
    return llvm::createStringError(importer.error);
  OutputOp::create(b, loc, *logits);
  int64_t maxPositions = 0;
  phiModel.walk([&](AttentionOp a) {
    maxPositions = a.getRope().getMaxPositions();
  });
  phiModel.setConfigAttr(makeConfig(maxPositions, importer.tied));

  if (failed(verify(*module)))
    return llvm::createStringError(
        realPath + ": the imported model does not verify (see diagnostics)");
  return module;
}
