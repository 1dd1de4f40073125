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
               const params::ParamStore &store, StringRef storeName)
      : b(b), config(config), store(store), storeName(storeName) {}

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
                  ", no biases) does not account for it");
    }
    return success();
  }

  FailureOr<Value> build(Value ids);

  std::string error;

private:
  OpBuilder &b;
  const Phi3Config &config;
  const params::ParamStore &store;
  StringRef storeName;
  llvm::StringSet<> used;
};

FailureOr<Value> ModelBuilder::build(Value ids) {
  const int64_t H = config.hiddenSize, I = config.intermediateSize,
                V = config.vocabSize, D = config.headDim,
                qDim = config.numHeads * D, kvDim = config.numKvHeads * D;
  auto embedTable = weight("model.embed_tokens.weight", {V, H},
                           "vocab_size x hidden_size");
  if (failed(embedTable))
    return failure();
  Value x = EmbeddingOp::create(b, loc("model.embed_tokens"), activations(H),
                                ids, *embedTable);

  auto f32 = b.getF64FloatAttr(config.rmsNormEps);
  const RopeConfig &r = config.rope;
  auto rope = RopeAttr::get(
      b.getContext(), r.longRope ? RopeKind::LongRope : RopeKind::Default,
      b.getF64FloatAttr(r.theta), config.rotaryDim(), r.originalMaxPositions,
      config.maxPositions, b.getF64FloatAttr(r.attentionFactor),
      r.longRope ? b.getDenseF64ArrayAttr(r.shortFactor) : DenseF64ArrayAttr(),
      r.longRope ? b.getDenseF64ArrayAttr(r.longFactor) : DenseF64ArrayAttr());
  IntegerAttr window =
      config.slidingWindow ? b.getI64IntegerAttr(*config.slidingWindow)
                           : IntegerAttr();

  for (int64_t l = 0; l < config.numLayers; ++l) {
    std::string p = "model.layers." + std::to_string(l) + ".";
    auto inNorm = weight(p + "input_layernorm.weight", {H}, "hidden_size");
    auto qkvW = weight(p + "self_attn.qkv_proj.weight", {qDim + 2 * kvDim, H},
                       "(num_attention_heads + 2 * num_key_value_heads) * "
                       "head_dim x hidden_size");
    auto oW = weight(p + "self_attn.o_proj.weight", {H, qDim},
                     "hidden_size x num_attention_heads * head_dim");
    auto postNorm =
        weight(p + "post_attention_layernorm.weight", {H}, "hidden_size");
    auto gateUpW = weight(p + "mlp.gate_up_proj.weight", {2 * I, H},
                          "2 * intermediate_size x hidden_size");
    auto downW = weight(p + "mlp.down_proj.weight", {H, I},
                        "hidden_size x intermediate_size");
    if (failed(inNorm) || failed(qkvW) || failed(oW) || failed(postNorm) ||
        failed(gateUpW) || failed(downW))
      return failure();

    Value h = RmsNormOp::create(b, loc(p + "input_layernorm"), x.getType(), x,
                                *inNorm, f32);
    Value qkv = LinearOp::create(b, loc(p + "self_attn.qkv_proj"),
                                 activations(qDim + 2 * kvDim), h, *qkvW,
                                 Value());
    auto split = SplitOp::create(
        b, loc(p + "self_attn.qkv_split"),
        TypeRange{activations(qDim), activations(kvDim), activations(kvDim)},
        qkv);
    Value attn = AttentionOp::create(
        b, loc(p + "self_attn"), activations(qDim), split.getResult(0),
        split.getResult(1), split.getResult(2),
        b.getI64IntegerAttr(config.numHeads),
        b.getI64IntegerAttr(config.numKvHeads), b.getI64IntegerAttr(D), rope,
        window, FloatAttr());
    Value o = LinearOp::create(b, loc(p + "self_attn.o_proj"), activations(H),
                               attn, *oW, Value());
    x = AddOp::create(b, loc(p + "attn_residual"), x, o);
    Value h2 = RmsNormOp::create(b, loc(p + "post_attention_layernorm"),
                                 x.getType(), x, *postNorm, f32);
    Value gu = LinearOp::create(b, loc(p + "mlp.gate_up_proj"),
                                activations(2 * I), h2, *gateUpW, Value());
    Value g = GluOp::create(b, loc(p + "mlp.act"), activations(I), gu,
                            Activation::Silu);
    Value down = LinearOp::create(b, loc(p + "mlp.down_proj"), activations(H),
                                  g, *downW, Value());
    x = AddOp::create(b, loc(p + "mlp_residual"), x, down);
  }

  auto normW = weight("model.norm.weight", {H}, "hidden_size");
  if (failed(normW))
    return failure();
  x = RmsNormOp::create(b, loc("model.norm"), x.getType(), x, *normW, f32);
  Value headW = *embedTable;
  if (!config.tieWordEmbeddings) {
    auto w = weight("lm_head.weight", {V, H}, "vocab_size x hidden_size");
    if (failed(w))
      return failure();
    headW = *w;
  }
  return LmHeadOp::create(b, loc("lm_head"), activations(V), x, headW, Value())
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
  llvm::SmallString<256> dir;
  if (llvm::sys::fs::real_path(modelDir, dir))
    return llvm::createStringError(modelDir + ": no such model folder");
  if (!llvm::sys::fs::is_directory(dir))
    return llvm::createStringError(modelDir + ": not a folder");

  auto config = parsePhi3Config(dir);
  if (!config)
    return config.takeError();
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

  ModelBuilder builder(b, *config, **store, options.storeName);
  FailureOr<Value> logits = builder.build(ids);
  if (failed(logits) || failed(builder.checkAllUsed()))
    return llvm::createStringError(builder.error);
  OutputOp::create(b, loc, *logits);

  if (failed(verify(*module)))
    return llvm::createStringError(
        modelDir + ": the imported model does not verify (see diagnostics)");
  return module;
}
