//===- ImportHF.cpp - Hugging Face checkpoint to phi IR ---------*- C++ -*-===//
//
// Builds the phi.model of a Phi3ForCausalLM checkpoint. Each tensor the
// config implies is looked up in the mapped safetensors store and checked
// for shape and dtype; tensors the config does not explain are errors too
// (they usually mean a wrong num_hidden_layers or an unsupported variant).
// The weights become #phi.param references, never copies.
//
//===----------------------------------------------------------------------===//
#include "phiq/Target/HF/Import.h"

#include "HFConfig.h"
#include "dialects/Phi/PhiOps.h"
#include "dialects/Phi/PhiParams.h"
#include "dialects/PhiQ/PhiQDialect.h"
#include "dialects/PhiQ/PhiQOps.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/Verifier.h"
#include "mlir/IR/BuiltinOps.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/ADT/StringSet.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Path.h"

using namespace mlir;
using namespace mlir::phi;
using namespace phiq::hf;
namespace params = phiq::params;

namespace {

std::string shapeString(ArrayRef<int64_t> shape) {
  return "[" +
         llvm::join(llvm::map_range(
                        shape, [](int64_t d) { return std::to_string(d); }),
                    ", ") +
         "]";
}

/// Emits the ops of one model, looking tensors up as it goes.
class ModelBuilder {
public:
  ModelBuilder(OpBuilder &b, const Phi3Config &config,
               const params::ParamStore &store, StringRef storeName,
               const ImportOptions &options)
      : b(b), config(config), store(store), storeName(storeName),
        options(options) {}

  /// A phi.weight for tensor `name` of shape `shape`, after checking the
  /// file agrees. `why` says which config fields imply the shape.
  FailureOr<Value> weight(StringRef name, ArrayRef<int64_t> shape,
                          StringRef why) {
    used.insert(name);
    const params::TensorRef *tensor = store.lookup(name);
    if (!tensor)
      return fail(store.path() + ": missing tensor '" + name +
                  "' (expected shape " +
                  shapeString(shape) + " from " + why + ")");
    if (options.packedFormat)
      if (std::optional<::phiq::quant::BlockFormat> format =
              options.packedFormat(name))
        return packedWeight(name, *tensor, shape, *format, why);
    if (ArrayRef<int64_t>(tensor->shape) != shape)
      return fail(tensor->file + ": tensor '" + name + "' has shape " +
                  shapeString(tensor->shape) + ", expected " +
                  shapeString(shape) + " from config.json (" + why + ")");
    StringRef dtype = params::dtypeName(tensor->dtype);
    if (tensor->dtype != params::DType::F32 &&
        tensor->dtype != params::DType::F16 &&
        tensor->dtype != params::DType::BF16)
      return fail(tensor->file + ": tensor '" + name + "' has dtype " + dtype +
                  ", expected F32, F16 or BF16");
    if (config.dtype && dtype != *config.dtype)
      return fail(tensor->file + ": tensor '" + name + "' has dtype " + dtype +
                  " but config.json declares " + *config.dtype);
    Type element = dtypeToElementType(b.getContext(), tensor->dtype);
    auto type = RankedTensorType::get(shape, element);
    auto attr = ParamAttr::get(b.getStringAttr(storeName),
                               b.getStringAttr(name), type);
    return WeightOp::create(b, loc(name), attr).getResult();
  }

  /// A weight held in blocks: phiq.packed_weight of its bytes, then
  /// phiq.dequantize to the float tensor the layer ops read.
  FailureOr<Value> packedWeight(StringRef name, const params::TensorRef &bytes,
                                ArrayRef<int64_t> shape,
                                ::phiq::quant::BlockFormat format,
                                StringRef why) {
    int64_t rows = 1;
    for (int64_t d : shape.drop_back())
      rows *= d;
    auto rowBytes = ::phiq::quant::rowBytes(format, shape.back());
    if (!rowBytes)
      return fail(bytes.file + ": tensor '" + name + "': " +
                  llvm::toString(rowBytes.takeError()));
    if (bytes.dtype != params::DType::U8 || bytes.shape.size() != 1 ||
        bytes.shape[0] != rows * *rowBytes)
      return fail(bytes.file + ": tensor '" + name + "' holds " +
                  std::to_string(bytes.data.size()) + " bytes of " +
                  ::phiq::quant::formatInfo(format).name.str() +
                  " blocks, expected " + std::to_string(rows * *rowBytes) +
                  " for shape " + shapeString(shape) + " from config.json (" +
                  why + ")");
    auto blocks = ::mlir::phiq_ir::BlocksType::get(
        b.getContext(), shape,
        ::mlir::phiq_ir::SchemeAttr::get(b.getContext(), format));
    auto param = ParamAttr::get(
        b.getStringAttr(storeName), b.getStringAttr(name),
        RankedTensorType::get({rows * *rowBytes}, b.getIntegerType(8, false)));
    auto packed =
        ::mlir::phiq_ir::PackedWeightOp::create(b, loc(name), blocks, param);
    return ::mlir::phiq_ir::DequantizeOp::create(b, loc(name),
                                                 blocks.getLogicalType(),
                                                 packed.getResult())
        .getResult();
  }

  Location loc(StringRef name) {
    return NameLoc::get(b.getStringAttr(name));
  }

  RankedTensorType activations(int64_t features) {
    return RankedTensorType::get(
        {ShapedType::kDynamic, ShapedType::kDynamic, features},
        b.getF32Type());
  }

  /// Records the first problem found (later ones are usually its echo).
  LogicalResult fail(const Twine &message) {
    if (error.empty())
      error = message.str();
    return failure();
  }

  /// Fails on a tensor the config does not account for.
  LogicalResult checkAllUsed() {
    for (StringRef name : store.names()) {
      if (used.contains(name))
        continue;
      // Tied checkpoints may still carry a copy of the head; transformers
      // replaces it with the embedding, and so do we.
      if (config.tieWordEmbeddings && name == "lm_head.weight")
        continue;
      return fail("unexpected tensor '" + name + "' in " + store.path() +
                  ": config.json (num_hidden_layers " +
                  std::to_string(config.numLayers) +
                  (config.moe ? ", num_local_experts " +
                                    std::to_string(config.moe->numExperts)
                              : std::string(", no biases")) +
                  ") does not account for it");
    }
    return success();
  }

  FailureOr<Value> build(Value ids);
  FailureOr<Value> norm(StringRef name, Value x);
  FailureOr<Value> projection(StringRef name, Value x, int64_t out,
                              int64_t in, bool hasBias, StringRef why);
  FailureOr<Value> attention(StringRef prefix, Value h);
  FailureOr<Value> mlp(StringRef prefix, Value h);

  std::string error;

private:
  OpBuilder &b;
  const Phi3Config &config;
  const params::ParamStore &store;
  StringRef storeName;
  const ImportOptions &options;
  llvm::StringSet<> used;
};

FailureOr<Value> ModelBuilder::norm(StringRef name, Value x) {
  const int64_t H = config.hiddenSize;
  auto w = weight((name + ".weight").str(), {H}, "hidden_size");
  if (failed(w))
    return failure();
  auto eps = b.getF64FloatAttr(config.rmsNormEps);
  if (!config.moe)
    return RmsNormOp::create(b, loc(name), x.getType(), x, *w, Value(), eps)
        .getResult();
  // PhiMoE uses nn.LayerNorm (with bias), its eps taken from rms_norm_eps.
  auto bias = weight((name + ".bias").str(), {H}, "hidden_size");
  if (failed(bias))
    return failure();
  return LayerNormOp::create(b, loc(name), x.getType(), x, *w, *bias, eps)
      .getResult();
}

FailureOr<Value> ModelBuilder::projection(StringRef name, Value x,
                                          int64_t out, int64_t in,
                                          bool hasBias, StringRef why) {
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

FailureOr<Value> ModelBuilder::attention(StringRef prefix, Value h) {
  std::string p = prefix.str();
  const int64_t H = config.hiddenSize, D = config.headDim,
                qDim = config.numHeads * D, kvDim = config.numKvHeads * D;
  Value q, k, v;
  if (!config.moe) {
    // Phi-3 fuses the projections: qkv_proj rows are [q | k | v].
    auto qkv = projection(p + "self_attn.qkv_proj", h, qDim + 2 * kvDim, H,
                          false,
                          "(num_attention_heads + 2 * num_key_value_heads) * "
                          "head_dim x hidden_size");
    if (failed(qkv))
      return failure();
    auto split = SplitOp::create(
        b, loc(p + "self_attn.qkv_split"),
        TypeRange{activations(qDim), activations(kvDim), activations(kvDim)},
        *qkv);
    q = split.getResult(0);
    k = split.getResult(1);
    v = split.getResult(2);
  } else {
    bool bias = config.attentionBias;
    auto qp = projection(p + "self_attn.q_proj", h, qDim, H, bias,
                         "num_attention_heads * head_dim x hidden_size");
    auto kp = projection(p + "self_attn.k_proj", h, kvDim, H, bias,
                         "num_key_value_heads * head_dim x hidden_size");
    auto vp = projection(p + "self_attn.v_proj", h, kvDim, H, bias,
                         "num_key_value_heads * head_dim x hidden_size");
    if (failed(qp) || failed(kp) || failed(vp))
      return failure();
    q = *qp;
    k = *kp;
    v = *vp;
  }
  const RopeConfig &r = config.rope;
  auto rope = RopeAttr::get(
      b.getContext(), r.longRope ? RopeKind::LongRope : RopeKind::Default,
      b.getF64FloatAttr(r.theta), config.rotaryDim(), r.originalMaxPositions,
      config.maxPositions, b.getF64FloatAttr(r.attentionFactor),
      r.longRope ? b.getDenseF64ArrayAttr(r.shortFactor) : DenseF64ArrayAttr(),
      r.longRope ? b.getDenseF64ArrayAttr(r.longFactor) : DenseF64ArrayAttr(),
      r.longAttentionFactor ? b.getF64FloatAttr(*r.longAttentionFactor)
                            : FloatAttr());
  IntegerAttr window =
      config.slidingWindow ? b.getI64IntegerAttr(*config.slidingWindow)
                           : IntegerAttr();
  Value attn = AttentionOp::create(
      b, loc(p + "self_attn"), activations(qDim), q, k, v,
      b.getI64IntegerAttr(config.numHeads),
      b.getI64IntegerAttr(config.numKvHeads), b.getI64IntegerAttr(D), rope,
      window, FloatAttr());
  return projection(p + "self_attn.o_proj", attn, H, qDim,
                    config.moe && config.attentionBias,
                    "hidden_size x num_attention_heads * head_dim");
}

FailureOr<Value> ModelBuilder::mlp(StringRef prefix, Value h) {
  std::string p = prefix.str();
  const int64_t H = config.hiddenSize, I = config.intermediateSize;
  if (!config.moe) {
    auto gateUp = projection(p + "mlp.gate_up_proj", h, 2 * I, H, false,
                             "2 * intermediate_size x hidden_size");
    if (failed(gateUp))
      return failure();
    Value g = GluOp::create(b, loc(p + "mlp.act"), activations(I), *gateUp,
                            Activation::Silu);
    return projection(p + "mlp.down_proj", g, H, I, false,
                      "hidden_size x intermediate_size");
  }
  // PhiMoE: router logits, sparsemixer top-2, then the chosen experts.
  const MoeConfig &moe = *config.moe;
  std::string block = p + "block_sparse_moe";
  auto logits = projection(block + ".gate", h, moe.numExperts, H, false,
                           "num_local_experts x hidden_size");
  if (failed(logits))
    return failure();
  auto indexType = RankedTensorType::get(
      {ShapedType::kDynamic, ShapedType::kDynamic, moe.topK}, b.getI32Type());
  auto route = MoeRouteOp::create(
      b, loc(block + ".route"), activations(moe.topK), indexType, *logits,
      b.getI64IntegerAttr(moe.topK),
      RoutingAttr::get(b.getContext(), Routing::SparseMixer),
      b.getF64FloatAttr(moe.jitterEps), /*normalize=*/UnitAttr());
  SmallVector<Value> gate, up, down;
  for (int64_t e = 0; e < moe.numExperts; ++e) {
    std::string ex = block + ".experts." + std::to_string(e) + ".";
    auto w1 = weight(ex + "w1.weight", {I, H}, "intermediate_size x hidden_size");
    auto w3 = weight(ex + "w3.weight", {I, H}, "intermediate_size x hidden_size");
    auto w2 = weight(ex + "w2.weight", {H, I}, "hidden_size x intermediate_size");
    if (failed(w1) || failed(w3) || failed(w2))
      return failure();
    gate.push_back(*w1);
    up.push_back(*w3);
    down.push_back(*w2);
  }
  return MoeExpertsOp::create(b, loc(block + ".experts"), activations(H), h,
                              route.getWeights(), route.getIndices(), gate, up,
                              down, uint64_t(moe.numExperts),
                              Activation::Silu)
      .getResult();
}

FailureOr<Value> ModelBuilder::build(Value ids) {
  const int64_t H = config.hiddenSize, V = config.vocabSize;
  auto embedTable = weight("model.embed_tokens.weight", {V, H},
                           "vocab_size x hidden_size");
  if (failed(embedTable))
    return failure();
  Value x = EmbeddingOp::create(b, loc("model.embed_tokens"), activations(H),
                                ids, *embedTable);
  for (int64_t l = 0; l < config.numLayers; ++l) {
    std::string p = "model.layers." + std::to_string(l) + ".";
    auto h = norm(p + "input_layernorm", x);
    if (failed(h))
      return failure();
    auto attn = attention(p, *h);
    if (failed(attn))
      return failure();
    x = AddOp::create(b, loc(p + "attn_residual"), x, *attn);
    auto h2 = norm(p + "post_attention_layernorm", x);
    if (failed(h2))
      return failure();
    auto ffn = mlp(p, *h2);
    if (failed(ffn))
      return failure();
    x = AddOp::create(b, loc(p + "mlp_residual"), x, *ffn);
  }
  auto normed = norm("model.norm", x);
  if (failed(normed))
    return failure();
  Value headW = *embedTable, headBias;
  if (!config.tieWordEmbeddings ||
      (options.tiedHeadFromStore && store.lookup("lm_head.weight"))) {
    auto w = weight("lm_head.weight", {V, H}, "vocab_size x hidden_size");
    if (failed(w))
      return failure();
    headW = *w;
  }
  if (config.lmHeadBias) {
    auto bias = weight("lm_head.bias", {V}, "vocab_size");
    if (failed(bias))
      return failure();
    headBias = *bias;
  }
  return LmHeadOp::create(b, loc("lm_head"), activations(V), *normed, headW,
                          headBias)
      .getResult();
}

std::string symbolFromFolder(StringRef dir) {
  llvm::SmallString<256> path(dir);
  llvm::sys::path::remove_dots(path, /*remove_dot_dot=*/true);
  while (!path.empty() && llvm::sys::path::is_separator(path.back()))
    path.pop_back();
  std::string name = llvm::sys::path::filename(path).str();
  for (char &c : name)
    if (!llvm::isAlnum(c) && c != '_')
      c = '_';
  if (name.empty() || llvm::isDigit(name.front()))
    name = "m_" + name;
  return name;
}

} // namespace

llvm::Expected<OwningOpRef<ModuleOp>>
phiq::hf::importCheckpoint(StringRef modelDir, MLIRContext *context,
                           const ImportOptions &options) {
  context->getOrLoadDialect<PhiDialect>();
  if (options.packedFormat)
    context->getOrLoadDialect<::mlir::phiq_ir::PhiQDialect>();
  llvm::SmallString<256> dir;
  if (llvm::sys::fs::real_path(modelDir, dir))
    return llvm::createStringError(modelDir + ": no such model folder");
  if (!llvm::sys::fs::is_directory(dir))
    return llvm::createStringError(modelDir + ": not a folder");

  auto config = parsePhi3Config(dir, options.extraInertConfigKeys);
  if (!config)
    return config.takeError();
  if (options.floatTypesFromStore)
    config->dtype.reset();
  auto store = getOrOpenStore(dir);
  if (!store)
    return store.takeError();

  OpBuilder b(context);
  Location loc = FileLineColLoc::get(b.getStringAttr(dir + "/config.json"), 1, 1);
  OwningOpRef<ModuleOp> module = ModuleOp::create(loc);
  b.setInsertionPointToEnd(module->getBody());

  auto cfg = ConfigAttr::get(
      context, b.getStringAttr(config->architecture), config->vocabSize,
      config->hiddenSize, config->numLayers, config->maxPositions,
      config->bosTokenId, b.getDenseI64ArrayAttr(config->eosTokenIds),
      config->padTokenId, b.getBoolAttr(config->tieWordEmbeddings));
  auto stores = b.getDictionaryAttr(
      b.getNamedAttr(options.storeName, b.getStringAttr(dir)));
  std::string name =
      options.modelName.empty() ? symbolFromFolder(dir) : options.modelName;
  auto model = ModelOp::create(b, loc, b.getStringAttr(name), cfg, stores);
  Block *body = b.createBlock(&model.getBody());
  Value ids = body->addArgument(
      RankedTensorType::get({ShapedType::kDynamic, ShapedType::kDynamic},
                            b.getI32Type()),
      loc);

  ModelBuilder builder(b, *config, **store, options.storeName, options);
  FailureOr<Value> logits = builder.build(ids);
  if (failed(logits) || failed(builder.checkAllUsed()))
    return llvm::createStringError(builder.error);
  OutputOp::create(b, loc, *logits);

  if (failed(verify(*module)))
    return llvm::createStringError(
        modelDir + ": the imported model does not verify (see diagnostics)");
  return module;
}
