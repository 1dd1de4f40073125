//===- ImportGGUF.cpp - llama.cpp GGUF file to phi IR -----------*- C++ -*-===//
//
// Builds the phi.model of a phi3 / phimoe GGUF file: the inverse of
// ExportGGUF.cpp and the twin of ImportHF.cpp, op for op, so that a model
// imported from a GGUF file runs, quantizes and exports exactly like the
// checkpoint it came from. Each tensor the keys imply is looked up and
// checked (shape in PyTorch order, i.e. ggml's dims reversed, and a type
// PhiQ decodes); tensors nobody asked for are errors. Two things a GGUF
// file does not record take the checkpoint's values: PhiMoE's LayerNorms
// (llama.cpp runs them as RMS norms; --phiq-emulate-llamacpp does that too)
// and its sparsemixer jitter (0.01, every PhiMoE checkpoint's).
//
//===----------------------------------------------------------------------===//
#include "phiq/Target/GGUF/ImportGGUF.h"

#include "GGUFConfig.h"
#include "dialects/Phi/PhiOps.h"
#include "dialects/PhiQ/PhiQDialect.h"
#include "dialects/PhiQ/PhiQOps.h"
#include "phiq/Quant/BlockFormat.h"
#include "phiq/Target/GGUF/GGUFReader.h"
#include "phiq/Target/GGUF/GGUFStore.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/Verifier.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/ADT/StringSet.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Path.h"

#include <cstring>

using namespace mlir;
using namespace mlir::phi;
using namespace phiq::gguf;
namespace quant = ::phiq::quant;
using mlir::phiq_ir::BlocksType;
using mlir::phiq_ir::DequantizeOp;
using mlir::phiq_ir::PackedWeightOp;
using mlir::phiq_ir::SchemeAttr;

namespace {

/// PhiMoE's router_jitter_noise, which GGUF has no key for.
constexpr double kPhiMoEJitterEps = 0.01;

template <typename T> std::string listString(ArrayRef<T> values) {
  return "[" +
         llvm::join(
             llvm::map_range(values, [](T d) { return std::to_string(d); }),
             ", ") +
         "]";
}

/// The lib/Quant block format of a quantized ggml type (not the floats).
std::optional<quant::BlockFormat> blockFormatOf(GGMLType type) {
  for (quant::BlockFormat format : quant::allBlockFormats())
    if (quant::formatInfo(format).ggmlType == int(type) &&
        !getElementDType(type))
      return format;
  return std::nullopt;
}

std::string supportedTypes() {
  std::string names;
  for (quant::BlockFormat format : quant::allBlockFormats())
    names += (names.empty() ? "" : ", ") + quant::formatInfo(format).name.str();
  return names;
}

/// Emits the ops of one model, looking tensors up as it goes.
class ModelBuilder {
public:
  ModelBuilder(OpBuilder &b, const GGUFModelConfig &config,
               const GGUFFile &file, StringRef storeName)
      : b(b), config(config), file(file), storeName(storeName) {}

  /// The float weight of tensor `name`, after checking it has `shape`
  /// (PyTorch order) and a type PhiQ decodes. `why` names the keys that
  /// imply the shape.
  FailureOr<Value> weight(StringRef name, ArrayRef<int64_t> shape,
                          StringRef why) {
    used.insert(name);
    const GGUFTensor *tensor = file.lookupTensor(name);
    if (!tensor)
      return fail(file.getPath() + ": missing tensor '" + name +
                  "' (expected shape " + listString(shape) + " from " + why +
                  ")");
    SmallVector<int64_t> actual;
    for (uint64_t d : llvm::reverse(tensor->getDims()))
      actual.push_back(int64_t(d));
    if (ArrayRef<int64_t>(actual) != shape)
      return fail(file.getPath() + ": tensor '" + name + "' has shape " +
                  listString(ArrayRef<int64_t>(actual)) + " (ggml dims " +
                  listString(tensor->getDims()) + "), expected " +
                  listString(shape) + " from " + why);
    GGMLType type = tensor->getType();
    Type element;
    switch (type) {
    case GGMLType::F32:
      element = b.getF32Type();
      break;
    case GGMLType::F16:
      element = b.getF16Type();
      break;
    case GGMLType::BF16:
      element = b.getBF16Type();
      break;
    default:
      break;
    }
    if (element) {
      auto tensorType = RankedTensorType::get(shape, element);
      auto attr = ParamAttr::get(b.getStringAttr(storeName),
                                 b.getStringAttr(name), tensorType);
      return WeightOp::create(b, loc(name), attr).getResult();
    }
    std::optional<quant::BlockFormat> format = blockFormatOf(type);
    if (!format)
      return fail(file.getPath() + ": tensor '" + name + "' has type " +
                  getGGMLTypeName(type) +
                  ", which PhiQ cannot decode (supported: " + supportedTypes() +
                  ")");
    auto blocks = BlocksType::get(b.getContext(), shape,
                                  SchemeAttr::get(b.getContext(), *format));
    auto bytesType = RankedTensorType::get({int64_t(tensor->getByteSize())},
                                           b.getIntegerType(8, false));
    auto param = ParamAttr::get(b.getStringAttr(storeName),
                                b.getStringAttr(name), bytesType);
    auto packed = PackedWeightOp::create(b, loc(name), blocks, param);
    return DequantizeOp::create(b, loc(name), blocks.getLogicalType(),
                                packed.getResult())
        .getResult();
  }

  /// The F32 values of a longrope factor tensor of `count` entries.
  FailureOr<SmallVector<double>> factors(StringRef name, int64_t count) {
    used.insert(name);
    const GGUFTensor *tensor = file.lookupTensor(name);
    if (!tensor)
      return fail(file.getPath() + ": missing tensor '" + name +
                  "' (the other longrope factor tensor is present)");
    if (tensor->getType() != GGMLType::F32 || tensor->getDims().size() != 1 ||
        int64_t(tensor->getDims()[0]) != count)
      return fail(file.getPath() + ": tensor '" + name + "' is " +
                  getGGMLTypeName(tensor->getType()) + " " +
                  listString(tensor->getDims()) + ", expected F32 [" +
                  std::to_string(count) +
                  "] (rope.dimension_count / 2 longrope factors)");
    SmallVector<double> values;
    for (int64_t i = 0; i < count; ++i) {
      float f;
      std::memcpy(&f, tensor->data().data() + i * sizeof(float), sizeof(f));
      values.push_back(widenF32(f));
    }
    return values;
  }

  bool hasTensor(StringRef name) const {
    return file.lookupTensor(name) != nullptr;
  }

  Location loc(StringRef name) {
    return NameLoc::get(
        b.getStringAttr(name.drop_back(name.ends_with(".weight") ? 7
                                       : name.ends_with(".bias") ? 5
                                                                 : 0)));
  }

  RankedTensorType activations(int64_t features) {
    return RankedTensorType::get(
        {ShapedType::kDynamic, ShapedType::kDynamic, features}, b.getF32Type());
  }

  /// Records the first problem found (later ones are usually its echo).
  LogicalResult fail(const Twine &message) {
    if (error.empty())
      error = message.str();
    return failure();
  }

  /// Fails on a tensor the keys do not account for.
  LogicalResult checkAllUsed() {
    for (const GGUFTensor &tensor : file.getTensors()) {
      if (used.contains(tensor.getName()))
        continue;
      return fail(file.getPath() + ": unexpected tensor '" + tensor.getName() +
                  "': the keys (" + config.arch + ".block_count " +
                  std::to_string(config.numLayers) +
                  (config.isMoE() ? ", " + config.arch + ".expert_count " +
                                        std::to_string(config.numExperts)
                                  : std::string()) +
                  ") do not account for it");
    }
    return success();
  }

  FailureOr<RopeAttr> rope();
  FailureOr<Value> build(Value ids);
  FailureOr<Value> norm(StringRef prefix, Value x);
  FailureOr<Value> projection(StringRef name, Value x, int64_t out, int64_t in,
                              bool hasBias, StringRef why);
  FailureOr<Value> attention(StringRef prefix, Value h, RopeAttr rope);
  FailureOr<Value> mlp(StringRef prefix, Value h);

  std::string error;

private:
  std::string key(StringRef name) const {
    return (config.arch + "." + name).str();
  }

  OpBuilder &b;
  const GGUFModelConfig &config;
  const GGUFFile &file;
  StringRef storeName;
  llvm::StringSet<> used;
  /// PhiMoE: whether q/k/v/o carry biases (decided by layer 0).
  bool attentionBias = false;
};

FailureOr<RopeAttr> ModelBuilder::rope() {
  const int64_t max = config.contextLength;
  // llama.cpp switches to the long factors past this length; without the
  // key it never does.
  const int64_t originalMax = config.originalContextLength.value_or(max);
  bool hasLong = hasTensor("rope_factors_long.weight"),
       hasShort = hasTensor("rope_factors_short.weight");
  if (!hasLong && !hasShort)
    return RopeAttr::get(b.getContext(), RopeKind::Default,
                         b.getF64FloatAttr(config.ropeTheta), config.rotaryDim,
                         originalMax, max,
                         b.getF64FloatAttr(config.attnFactor.value_or(1.0)),
                         DenseF64ArrayAttr(), DenseF64ArrayAttr(), FloatAttr());
  auto longF = factors("rope_factors_long.weight", config.rotaryDim / 2);
  if (failed(longF))
    return failure();
  auto shortF = factors("rope_factors_short.weight", config.rotaryDim / 2);
  if (failed(shortF))
    return failure();
  double attention = config.attnFactor.value_or(
      RopeAttr::impliedAttentionFactor(RopeKind::LongRope, originalMax, max));
  return RopeAttr::get(b.getContext(), RopeKind::LongRope,
                       b.getF64FloatAttr(config.ropeTheta), config.rotaryDim,
                       originalMax, max, b.getF64FloatAttr(attention),
                       b.getDenseF64ArrayAttr(*shortF),
                       b.getDenseF64ArrayAttr(*longF), FloatAttr());
}

FailureOr<Value> ModelBuilder::norm(StringRef prefix, Value x) {
  const int64_t H = config.hiddenSize;
  std::string why = key("embedding_length");
  auto w = weight((prefix + ".weight").str(), {H}, why);
  if (failed(w))
    return failure();
  auto eps = b.getF64FloatAttr(config.normEps);
  if (!config.isMoE())
    return RmsNormOp::create(b, loc(prefix), x.getType(), x, *w, Value(), eps)
        .getResult();
  // PhiMoE's checkpoint norms are nn.LayerNorm with a bias.
  auto bias = weight((prefix + ".bias").str(), {H}, why);
  if (failed(bias))
    return failure();
  return LayerNormOp::create(b, loc(prefix), x.getType(), x, *w, *bias, eps)
      .getResult();
}

FailureOr<Value> ModelBuilder::projection(StringRef name, Value x, int64_t out,
                                          int64_t in, bool hasBias,
                                          StringRef why) {
  auto w = weight((name + ".weight").str(), {out, in}, why);
  if (failed(w))
    return failure();
  Value bias;
  if (hasBias) {
    auto bw = weight((name + ".bias").str(), {out}, why);
    if (failed(bw))
      return failure();
    bias = *bw;
  }
  return LinearOp::create(b, loc(name), activations(out), x, *w, bias)
      .getResult();
}

FailureOr<Value> ModelBuilder::attention(StringRef prefix, Value h,
                                         RopeAttr rope) {
  std::string p = prefix.str();
  const int64_t H = config.hiddenSize, D = config.headDim,
                qDim = config.numHeads * D, kvDim = config.numKvHeads * D;
  Value q, k, v;
  if (!config.isMoE()) {
    // Phi-3's fused projection: rows are [q | k | v].
    auto qkv = projection(p + "attn_qkv", h, qDim + 2 * kvDim, H, false,
                          "(" + key("attention.head_count") + " + 2 * " +
                              key("attention.head_count_kv") +
                              ") * head_dim x " + key("embedding_length"));
    if (failed(qkv))
      return failure();
    auto split = SplitOp::create(
        b, loc(p + "attn_qkv_split"),
        TypeRange{activations(qDim), activations(kvDim), activations(kvDim)},
        *qkv);
    q = split.getResult(0);
    k = split.getResult(1);
    v = split.getResult(2);
  } else {
    std::string kvWhy = key("attention.head_count_kv") + " * head_dim x " +
                        key("embedding_length");
    auto qp = projection(p + "attn_q", h, qDim, H, attentionBias,
                         key("attention.head_count") + " * head_dim x " +
                             key("embedding_length"));
    auto kp = projection(p + "attn_k", h, kvDim, H, attentionBias, kvWhy);
    auto vp = projection(p + "attn_v", h, kvDim, H, attentionBias, kvWhy);
    if (failed(qp) || failed(kp) || failed(vp))
      return failure();
    q = *qp;
    k = *kp;
    v = *vp;
  }
  IntegerAttr window = config.slidingWindow
                           ? b.getI64IntegerAttr(*config.slidingWindow)
                           : IntegerAttr();
  Value attn =
      AttentionOp::create(b, loc(p + "attn"), activations(qDim), q, k, v,
                          b.getI64IntegerAttr(config.numHeads),
                          b.getI64IntegerAttr(config.numKvHeads),
                          b.getI64IntegerAttr(D), rope, window, FloatAttr());
  return projection(p + "attn_output", attn, H, qDim,
                    config.isMoE() && attentionBias,
                    key("embedding_length") + " x " +
                        key("attention.head_count") + " * head_dim");
}

FailureOr<Value> ModelBuilder::mlp(StringRef prefix, Value h) {
  std::string p = prefix.str();
  const int64_t H = config.hiddenSize, I = config.intermediateSize;
  if (!config.isMoE()) {
    // Phi-3's ffn_up is the fused [gate | up] projection.
    auto gateUp = projection(p + "ffn_up", h, 2 * I, H, false,
                             "2 * " + key("feed_forward_length") + " x " +
                                 key("embedding_length"));
    if (failed(gateUp))
      return failure();
    Value g = GluOp::create(b, loc(p + "ffn_act"), activations(I), *gateUp,
                            Activation::Silu);
    return projection(p + "ffn_down", g, H, I, false,
                      key("embedding_length") + " x " +
                          key("feed_forward_length"));
  }
  const int64_t E = config.numExperts;
  auto logits =
      projection(p + "ffn_gate_inp", h, E, H, false,
                 key("expert_count") + " x " + key("embedding_length"));
  if (failed(logits))
    return failure();
  auto indexType = RankedTensorType::get(
      {ShapedType::kDynamic, ShapedType::kDynamic, config.topK},
      b.getI32Type());
  auto route = MoeRouteOp::create(
      b, loc(p + "ffn_route"), activations(config.topK), indexType, *logits,
      b.getI64IntegerAttr(config.topK),
      RoutingAttr::get(b.getContext(), Routing::SparseMixer),
      b.getF64FloatAttr(kPhiMoEJitterEps), /*normalize=*/UnitAttr());
  std::string why = key("expert_count") + " x " + key("feed_forward_length") +
                    " x " + key("embedding_length");
  auto gate = weight(p + "ffn_gate_exps.weight", {E, I, H}, why);
  auto up = weight(p + "ffn_up_exps.weight", {E, I, H}, why);
  auto down = weight(p + "ffn_down_exps.weight", {E, H, I},
                     key("expert_count") + " x " + key("embedding_length") +
                         " x " + key("feed_forward_length"));
  if (failed(gate) || failed(up) || failed(down))
    return failure();
  return MoeExpertsOp::create(b, loc(p + "ffn_moe"), activations(H), h,
                              route.getWeights(), route.getIndices(),
                              ValueRange{*gate}, ValueRange{*up},
                              ValueRange{*down}, uint64_t(E), Activation::Silu)
      .getResult();
}

FailureOr<Value> ModelBuilder::build(Value ids) {
  const int64_t H = config.hiddenSize, V = config.vocabSize;
  auto ropeAttr = rope();
  if (failed(ropeAttr))
    return failure();
  attentionBias = config.isMoE() && hasTensor("blk.0.attn_q.bias");
  std::string vocabWhy =
      "the tokens of tokenizer.ggml.tokens x " + key("embedding_length");
  auto embedTable = weight("token_embd.weight", {V, H}, vocabWhy);
  if (failed(embedTable))
    return failure();
  Value x = EmbeddingOp::create(b, loc("token_embd"), activations(H), ids,
                                *embedTable);
  for (int64_t l = 0; l < config.numLayers; ++l) {
    std::string p = "blk." + std::to_string(l) + ".";
    auto h = norm(p + "attn_norm", x);
    if (failed(h))
      return failure();
    auto attn = attention(p, *h, *ropeAttr);
    if (failed(attn))
      return failure();
    x = AddOp::create(b, loc(p + "attn_residual"), x, *attn);
    auto h2 = norm(p + "ffn_norm", x);
    if (failed(h2))
      return failure();
    auto ffn = mlp(p, *h2);
    if (failed(ffn))
      return failure();
    x = AddOp::create(b, loc(p + "ffn_residual"), x, *ffn);
  }
  auto normed = norm("output_norm", x);
  if (failed(normed))
    return failure();
  // No output.weight: the head is tied to the embedding, as llama.cpp does.
  Value headW = *embedTable, headBias;
  if (hasTensor("output.weight")) {
    auto w = weight("output.weight", {V, H}, vocabWhy);
    if (failed(w))
      return failure();
    headW = *w;
  }
  if (config.isMoE() && hasTensor("output.bias")) {
    auto bias =
        weight("output.bias", {V}, "the tokens of tokenizer.ggml.tokens");
    if (failed(bias))
      return failure();
    headBias = *bias;
  }
  return LmHeadOp::create(b, loc("output"), activations(V), *normed, headW,
                          headBias)
      .getResult();
}

/// general.name (what --phi-to-gguf writes back), else the file's stem, as
/// a symbol.
std::string symbolFor(const GGUFFile &file, StringRef path) {
  std::string name = llvm::sys::path::stem(path).str();
  if (const GGUFValue *value = file.lookup("general.name"))
    if (const std::string *text = value->getIf<std::string>();
        text && !text->empty())
      name = *text;
  for (char &c : name)
    if (!llvm::isAlnum(c) && c != '_')
      c = '_';
  if (name.empty() || llvm::isDigit(name.front()))
    name = "m_" + name;
  return name;
}

} // namespace

bool phiq::gguf::isGGUFFile(StringRef path) {
  if (!llvm::sys::fs::is_regular_file(path))
    return false;
  auto file = llvm::sys::fs::openNativeFileForRead(path);
  if (!file) {
    llvm::consumeError(file.takeError());
    return false;
  }
  char magic[4] = {};
  auto read = llvm::sys::fs::readNativeFile(*file, magic);
  llvm::sys::fs::closeFile(*file);
  if (!read) {
    llvm::consumeError(read.takeError());
    return false;
  }
  return *read == 4 && StringRef(magic, 4) == "GGUF";
}

llvm::Expected<OwningOpRef<ModuleOp>>
phiq::gguf::importGGUF(StringRef path, MLIRContext *context,
                       const ImportOptions &options) {
  context->getOrLoadDialect<PhiDialect>();
  context->getOrLoadDialect<mlir::phiq_ir::PhiQDialect>();
  llvm::SmallString<256> realPath;
  if (llvm::sys::fs::real_path(path, realPath))
    return llvm::createStringError(path + ": no such GGUF file");
  // The executor and the emitters reopen the file through the store.
  registerGGUFStore();
  auto file = GGUFFile::open(realPath);
  if (!file)
    return file.takeError();
  auto config = parseGGUFModelConfig(**file);
  if (!config)
    return config.takeError();

  OpBuilder b(context);
  Location loc = FileLineColLoc::get(b.getStringAttr(realPath), 1, 1);
  OwningOpRef<ModuleOp> module = ModuleOp::create(loc);
  b.setInsertionPointToEnd(module->getBody());

  auto cfg = ConfigAttr::get(
      context,
      b.getStringAttr(config->isMoE() ? "PhimoeForCausalLM"
                                      : "Phi3ForCausalLM"),
      config->vocabSize, config->hiddenSize, config->numLayers,
      config->contextLength, config->bosTokenId,
      b.getDenseI64ArrayAttr(config->eosTokenIds), config->padTokenId,
      b.getBoolAttr(!(*file)->lookupTensor("output.weight")));
  auto stores = b.getDictionaryAttr(
      b.getNamedAttr(options.storeName, b.getStringAttr(realPath)));
  std::string name =
      options.modelName.empty() ? symbolFor(**file, path) : options.modelName;
  auto model = ModelOp::create(b, loc, b.getStringAttr(name), cfg, stores);
  // What general.file_type says, so --phi-to-gguf writes it back.
  if (config->fileType)
    model->setAttr("phiq.file_type", b.getStringAttr(*config->fileType));
  Block *body = b.createBlock(&model.getBody());
  Value ids = body->addArgument(
      RankedTensorType::get({ShapedType::kDynamic, ShapedType::kDynamic},
                            b.getI32Type()),
      loc);

  ModelBuilder builder(b, *config, **file, options.storeName);
  FailureOr<Value> logits = builder.build(ids);
  if (failed(logits) || failed(builder.checkAllUsed()))
    return llvm::createStringError(builder.error);
  OutputOp::create(b, loc, *logits);

  if (failed(verify(*module)))
    return llvm::createStringError(
        path + ": the imported model does not verify (see diagnostics)");
  return module;
}
