//===- HFConfig.cpp - config.json of Phi-3 family checkpoints ---*- C++ -*-===//
//
// Strict reading of config.json. Real checkpoints spell rope settings two
// ways (transformers 4: top-level `rope_theta` + `rope_scaling`;
// transformers 5: `rope_parameters`); both are read and, when both are
// present, must agree. Every key is classified: read, known to be inert at
// inference, or rejected.
//
//===----------------------------------------------------------------------===//
#include "HFConfig.h"

#include "llvm/ADT/StringSet.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"

#include <cmath>

using namespace phiq::hf;
using llvm::Error;
using llvm::Expected;
using llvm::StringRef;
namespace json = llvm::json;

namespace {

/// Reads typed fields of one JSON object, remembering which keys were used
/// so that the rest can be reported. Errors name the file and the field path.
class FieldReader {
public:
  FieldReader(const json::Object &object, std::string file, std::string prefix)
      : object(object), file(std::move(file)), prefix(std::move(prefix)) {}

  bool has(StringRef key) const {
    const json::Value *v = object.get(key);
    return v && v->kind() != json::Value::Null;
  }

  Error error(StringRef key, const llvm::Twine &what) const {
    return llvm::createStringError(file + ": field '" + prefix + key +
                                   "': " + what);
  }

  Expected<int64_t> integer(StringRef key) {
    used.insert(key);
    const json::Value *v = object.get(key);
    if (!v || v->kind() == json::Value::Null)
      return error(key, "missing, expected an integer");
    if (std::optional<int64_t> i = v->getAsInteger())
      return *i;
    return error(key, "expected an integer, got " + describe(*v));
  }

  Expected<std::optional<int64_t>> optionalInteger(StringRef key) {
    if (!has(key)) {
      used.insert(key);
      return std::optional<int64_t>();
    }
    auto value = integer(key);
    if (!value)
      return value.takeError();
    return std::optional<int64_t>(*value);
  }

  Expected<double> number(StringRef key) {
    used.insert(key);
    const json::Value *v = object.get(key);
    if (!v || v->kind() == json::Value::Null)
      return error(key, "missing, expected a number");
    if (std::optional<double> d = v->getAsNumber())
      return *d;
    return error(key, "expected a number, got " + describe(*v));
  }

  Expected<std::optional<double>> optionalNumber(StringRef key) {
    if (!has(key)) {
      used.insert(key);
      return std::optional<double>();
    }
    auto value = number(key);
    if (!value)
      return value.takeError();
    return std::optional<double>(*value);
  }

  Expected<bool> boolean(StringRef key, std::optional<bool> fallback = {}) {
    used.insert(key);
    const json::Value *v = object.get(key);
    if (!v || v->kind() == json::Value::Null) {
      if (fallback)
        return *fallback;
      return error(key, "missing, expected true or false");
    }
    if (std::optional<bool> b = v->getAsBoolean())
      return *b;
    return error(key, "expected true or false, got " + describe(*v));
  }

  Expected<std::string> string(StringRef key) {
    used.insert(key);
    const json::Value *v = object.get(key);
    if (!v || v->kind() == json::Value::Null)
      return error(key, "missing, expected a string");
    if (std::optional<StringRef> s = v->getAsString())
      return s->str();
    return error(key, "expected a string, got " + describe(*v));
  }

  Expected<llvm::SmallVector<double>> numbers(StringRef key) {
    used.insert(key);
    const json::Array *array = object.getArray(key);
    if (!array)
      return error(key, "expected an array of numbers");
    llvm::SmallVector<double> out;
    for (const json::Value &v : *array) {
      std::optional<double> d = v.getAsNumber();
      if (!d)
        return error(key, "expected an array of numbers, found " + describe(v));
      out.push_back(*d);
    }
    return out;
  }

  /// An integer or a list of integers (eos_token_id takes both forms).
  Expected<llvm::SmallVector<int64_t>> integerOrList(StringRef key) {
    used.insert(key);
    const json::Value *v = object.get(key);
    llvm::SmallVector<int64_t> out;
    if (!v || v->kind() == json::Value::Null)
      return out;
    if (std::optional<int64_t> i = v->getAsInteger()) {
      out.push_back(*i);
      return out;
    }
    if (const json::Array *array = v->getAsArray()) {
      for (const json::Value &e : *array) {
        std::optional<int64_t> i = e.getAsInteger();
        if (!i)
          return error(key, "expected integers, found " + describe(e));
        out.push_back(*i);
      }
      return out;
    }
    return error(key, "expected an integer or a list of integers, got " +
                          describe(*v));
  }

  /// Marks keys as known to have no effect on inference.
  void accept(std::initializer_list<StringRef> keys) {
    for (StringRef key : keys)
      used.insert(key);
  }

  /// Fails on the first key nobody read or accepted.
  Error rejectUnknown(StringRef why) const {
    llvm::SmallVector<StringRef> unknown;
    for (const auto &kv : object)
      if (!used.contains(kv.first))
        unknown.push_back(kv.first);
    if (unknown.empty())
      return Error::success();
    llvm::sort(unknown);
    return error(unknown.front(), "unknown field; " + why);
  }

  static std::string describe(const json::Value &v) {
    switch (v.kind()) {
    case json::Value::Null: return "null";
    case json::Value::Boolean: return "a boolean";
    case json::Value::Number: return "a number";
    case json::Value::String: return "a string";
    case json::Value::Array: return "an array";
    case json::Value::Object: return "an object";
    }
    return "a value";
  }

private:
  const json::Object &object;
  std::string file, prefix;
  llvm::StringSet<> used;
};

Expected<json::Value> readJson(StringRef path) {
  auto buffer = llvm::MemoryBuffer::getFile(path, /*IsText=*/true);
  if (!buffer)
    return llvm::createStringError(path + ": cannot read: " +
                                   buffer.getError().message());
  Expected<json::Value> value = json::parse((*buffer)->getBuffer());
  if (!value)
    return llvm::createStringError(path + ": invalid JSON: " +
                                   llvm::toString(value.takeError()));
  if (!value->getAsObject())
    return llvm::createStringError(path + ": expected a JSON object");
  return value;
}

/// The rope block of either spelling, before the two are reconciled.
struct RopeBlock {
  std::string type = "default";
  std::optional<double> theta, partialRotaryFactor, attentionFactor, factor;
  /// PhiMoE spells the cos/sin scale as short_mscale / long_mscale.
  std::optional<double> shortMscale, longMscale;
  std::optional<int64_t> originalMaxPositions;
  llvm::SmallVector<double> shortFactor, longFactor;
};

Expected<RopeBlock> readRopeBlock(const json::Object &object, StringRef file,
                                  StringRef key, bool allowMscale) {
  FieldReader reader(object, file.str(), (key + ".").str());
  RopeBlock block;
  // transformers 4 wrote `type`, transformers 5 writes `rope_type`; real
  // checkpoints carry either or both.
  std::optional<std::string> type;
  for (StringRef typeKey : {"rope_type", "type"}) {
    if (!reader.has(typeKey))
      continue;
    auto t = reader.string(typeKey);
    if (!t)
      return t.takeError();
    if (type && *type != *t)
      return reader.error(typeKey, "says '" + *t + "' but another type key "
                                   "says '" + *type + "'");
    type = *t;
  }
  if (type)
    block.type = *type == "su" ? "longrope" : *type; // Phi-3's early name.
  if (block.type != "default" && block.type != "longrope")
    return reader.error("rope_type", "'" + block.type +
                                         "' is not a rope type "
                                         "Phi3ForCausalLM supports "
                                         "(default, longrope)");
  auto theta = reader.optionalNumber("rope_theta");
  auto prf = reader.optionalNumber("partial_rotary_factor");
  auto attn = reader.optionalNumber("attention_factor");
  auto factor = reader.optionalNumber("factor");
  auto orig = reader.optionalInteger("original_max_position_embeddings");
  if (!theta) return theta.takeError();
  if (!prf) return prf.takeError();
  if (!attn) return attn.takeError();
  if (!factor) return factor.takeError();
  if (!orig) return orig.takeError();
  block.theta = *theta;
  block.partialRotaryFactor = *prf;
  block.attentionFactor = *attn;
  block.factor = *factor;
  block.originalMaxPositions = *orig;
  if (allowMscale) {
    auto shortM = reader.optionalNumber("short_mscale");
    auto longM = reader.optionalNumber("long_mscale");
    if (!shortM) return shortM.takeError();
    if (!longM) return longM.takeError();
    block.shortMscale = *shortM;
    block.longMscale = *longM;
  }
  if (block.type == "longrope") {
    auto s = reader.numbers("short_factor");
    if (!s) return s.takeError();
    auto l = reader.numbers("long_factor");
    if (!l) return l.takeError();
    block.shortFactor = std::move(*s);
    block.longFactor = std::move(*l);
  } else if (reader.has("short_factor") || reader.has("long_factor")) {
    return reader.error("short_factor", "given for a non-longrope rope");
  }
  if (Error e = reader.rejectUnknown("not a rope setting PhiQ knows"))
    return std::move(e);
  return block;
}

/// Fails if two spellings of one setting disagree.
template <typename T>
Error agree(std::optional<T> &into, std::optional<T> other, StringRef file,
            StringRef what) {
  if (!other)
    return Error::success();
  if (into && *into != *other)
    return llvm::createStringError(file + ": rope setting '" + what +
                                   "' differs between rope_scaling/top level "
                                   "and rope_parameters");
  into = other;
  return Error::success();
}

} // namespace

Expected<Phi3Config>
phiq::hf::parsePhi3Config(StringRef dir,
                          llvm::ArrayRef<std::string> extraInertKeys) {
  llvm::SmallString<256> path(dir);
  llvm::sys::path::append(path, "config.json");
  std::string file = path.str().str();
  auto root = readJson(file);
  if (!root)
    return root.takeError();
  const json::Object &object = *root->getAsObject();
  FieldReader reader(object, file, "");
  Phi3Config config;

  // Architecture.
  const json::Array *archs = object.getArray("architectures");
  if (!archs || archs->size() != 1 || !(*archs)[0].getAsString())
    return reader.error("architectures",
                        "expected a list with one architecture name");
  config.architecture = (*archs)[0].getAsString()->str();
  reader.accept({"architectures"});
  // The real Phi-3.5-MoE config says PhiMoEForCausalLM; transformers 5
  // writes PhimoeForCausalLM. Both name the same model.
  bool isMoE = config.architecture == "PhimoeForCausalLM" ||
               config.architecture == "PhiMoEForCausalLM";
  if (config.architecture != "Phi3ForCausalLM" && !isMoE)
    return reader.error("architectures",
                        "unknown architecture '" + config.architecture +
                            "'; PhiQ imports Phi3ForCausalLM (Phi-3, "
                            "Phi-3.5-mini, Phi-4-mini) and PhimoeForCausalLM "
                            "(Phi-3.5-MoE)");
  StringRef expectedType = isMoE ? "phimoe" : "phi3";
  auto modelType = reader.string("model_type");
  if (!modelType)
    return modelType.takeError();
  if (*modelType != expectedType)
    return reader.error("model_type", "expected '" + expectedType +
                                          "' for " + config.architecture +
                                          ", got '" + *modelType + "'");

  // Sizes.
  auto readPositive = [&](StringRef key, int64_t &out) -> Error {
    auto v = reader.integer(key);
    if (!v)
      return v.takeError();
    if (*v <= 0)
      return reader.error(key, "must be positive, got " + std::to_string(*v));
    out = *v;
    return Error::success();
  };
  for (auto [key, out] : std::initializer_list<std::pair<StringRef, int64_t *>>{
           {"vocab_size", &config.vocabSize},
           {"hidden_size", &config.hiddenSize},
           {"intermediate_size", &config.intermediateSize},
           {"num_hidden_layers", &config.numLayers},
           {"num_attention_heads", &config.numHeads},
           {"max_position_embeddings", &config.maxPositions}})
    if (Error e = readPositive(key, *out))
      return std::move(e);
  if (reader.has("num_key_value_heads")) {
    if (Error e = readPositive("num_key_value_heads", config.numKvHeads))
      return std::move(e);
  } else {
    reader.accept({"num_key_value_heads"});
    config.numKvHeads = config.numHeads;
  }
  if (config.numHeads % config.numKvHeads != 0)
    return reader.error("num_key_value_heads",
                        std::to_string(config.numKvHeads) +
                            " does not divide num_attention_heads " +
                            std::to_string(config.numHeads));
  if (reader.has("head_dim")) {
    if (Error e = readPositive("head_dim", config.headDim))
      return std::move(e);
  } else {
    reader.accept({"head_dim"});
    if (config.hiddenSize % config.numHeads != 0)
      return reader.error("hidden_size",
                          "is not a multiple of num_attention_heads and no "
                          "head_dim is given");
    config.headDim = config.hiddenSize / config.numHeads;
  }

  // Activation, norm, biases.
  auto act = reader.string("hidden_act");
  if (!act)
    return act.takeError();
  if (*act != "silu")
    return reader.error("hidden_act", "'" + *act + "' is not supported; "
                                      "Phi3ForCausalLM uses silu");
  auto eps = reader.number("rms_norm_eps");
  if (!eps)
    return eps.takeError();
  if (!(*eps > 0))
    return reader.error("rms_norm_eps", "must be positive");
  config.rmsNormEps = *eps;
  if (isMoE) {
    // PhimoeForCausalLM puts biases on q/k/v/o and lm_head when these say so.
    auto attnBias = reader.boolean("attention_bias", false);
    auto headBias = reader.boolean("lm_head_bias", false);
    if (!attnBias)
      return attnBias.takeError();
    if (!headBias)
      return headBias.takeError();
    config.attentionBias = *attnBias;
    config.lmHeadBias = *headBias;
    MoeConfig moe;
    if (Error e = readPositive("num_local_experts", moe.numExperts))
      return std::move(e);
    if (Error e = readPositive("num_experts_per_tok", moe.topK))
      return std::move(e);
    // transformers' sparsemixer is written for exactly two experts.
    if (moe.topK != 2)
      return reader.error("num_experts_per_tok",
                          "PhimoeForCausalLM's sparsemixer routes every token "
                          "to exactly 2 experts, got " +
                              std::to_string(moe.topK));
    if (moe.topK > moe.numExperts)
      return reader.error("num_experts_per_tok",
                          "exceeds num_local_experts " +
                              std::to_string(moe.numExperts));
    auto jitter = reader.number("router_jitter_noise");
    if (!jitter)
      return jitter.takeError();
    if (!(*jitter >= 0))
      return reader.error("router_jitter_noise", "must not be negative");
    moe.jitterEps = *jitter;
    config.moe = moe;
    // Training-only settings: input jitter and the router's auxiliary loss.
    reader.accept({"input_jitter_noise", "router_aux_loss_coef",
                   "output_router_logits", "hidden_dropout"});
  } else {
    // Phi3ForCausalLM builds its projections without biases whatever these
    // say; a checkpoint that sets them means something transformers would
    // not compute, so refuse rather than guess.
    for (StringRef key : {"attention_bias", "mlp_bias", "lm_head_bias"}) {
      auto b = reader.boolean(key, false);
      if (!b)
        return b.takeError();
      if (*b)
        return reader.error(key, "is true, but Phi3ForCausalLM has no such "
                                 "bias");
    }
    // Phi-4-mini fields that transformers reads as "no change".
    auto fullAttnMod = reader.optionalInteger("full_attn_mod");
    if (!fullAttnMod)
      return fullAttnMod.takeError();
    if (*fullAttnMod && **fullAttnMod != 1)
      return reader.error("full_attn_mod", "only 1 (every layer full "
                                           "attention) is supported");
    auto interpolate = reader.optionalNumber("interpolate_factor");
    if (!interpolate)
      return interpolate.takeError();
    if (*interpolate && **interpolate != 1.0)
      return reader.error("interpolate_factor", "only 1 is supported");
  }

  auto tied = reader.boolean("tie_word_embeddings", false);
  if (!tied)
    return tied.takeError();
  config.tieWordEmbeddings = *tied;

  auto window = reader.optionalInteger("sliding_window");
  if (!window)
    return window.takeError();
  if (*window && **window <= 0)
    return reader.error("sliding_window", "must be positive or null");
  config.slidingWindow = *window;

  // Tokens.
  auto bos = reader.integer("bos_token_id");
  if (!bos)
    return bos.takeError();
  config.bosTokenId = *bos;
  auto eos = reader.integerOrList("eos_token_id");
  if (!eos)
    return eos.takeError();
  config.eosTokenIds = *eos;
  auto pad = reader.optionalInteger("pad_token_id");
  if (!pad)
    return pad.takeError();
  config.padTokenId = pad->value_or(config.eosTokenIds.empty()
                                        ? 0
                                        : config.eosTokenIds.front());

  // dtype (transformers 5 `dtype`, 4 `torch_dtype`).
  for (StringRef key : {"dtype", "torch_dtype"}) {
    if (!reader.has(key)) {
      reader.accept({key});
      continue;
    }
    auto d = reader.string(key);
    if (!d)
      return d.takeError();
    std::string name = *d == "float32"    ? "F32"
                       : *d == "float16"  ? "F16"
                       : *d == "bfloat16" ? "BF16"
                                          : "";
    if (name.empty())
      return reader.error(key, "unsupported dtype '" + *d +
                                   "' (expected float32, float16 or "
                                   "bfloat16)");
    if (config.dtype && *config.dtype != name)
      return reader.error(key, "disagrees with the other dtype field");
    config.dtype = name;
  }

  // Rope: top-level keys + rope_scaling (transformers 4) and
  // rope_parameters (transformers 5).
  RopeBlock rope;
  std::optional<double> theta, prf;
  std::optional<int64_t> originalMax;
  auto topTheta = reader.optionalNumber("rope_theta");
  auto topPrf = reader.optionalNumber("partial_rotary_factor");
  auto topOrig = reader.optionalInteger("original_max_position_embeddings");
  if (!topTheta) return topTheta.takeError();
  if (!topPrf) return topPrf.takeError();
  if (!topOrig) return topOrig.takeError();
  theta = *topTheta;
  prf = *topPrf;
  originalMax = *topOrig;
  bool sawBlock = false;
  for (StringRef key : {"rope_scaling", "rope_parameters"}) {
    reader.accept({key});
    const json::Value *v = object.get(key);
    if (!v || v->kind() == json::Value::Null)
      continue;
    const json::Object *block = v->getAsObject();
    if (!block)
      return reader.error(key, "expected an object or null");
    auto parsed = readRopeBlock(*block, file, key, isMoE);
    if (!parsed)
      return parsed.takeError();
    if (sawBlock) {
      if (parsed->type != rope.type ||
          parsed->shortFactor != rope.shortFactor ||
          parsed->longFactor != rope.longFactor)
        return reader.error(key, "disagrees with rope_scaling (type or "
                                 "factors)");
    }
    sawBlock = true;
    rope.type = parsed->type;
    rope.shortFactor = parsed->shortFactor;
    rope.longFactor = parsed->longFactor;
    if (Error e = agree(theta, parsed->theta, file, "rope_theta"))
      return std::move(e);
    if (Error e = agree(prf, parsed->partialRotaryFactor, file,
                        "partial_rotary_factor"))
      return std::move(e);
    if (Error e = agree(originalMax, parsed->originalMaxPositions, file,
                        "original_max_position_embeddings"))
      return std::move(e);
    if (Error e = agree(rope.attentionFactor, parsed->attentionFactor, file,
                        "attention_factor"))
      return std::move(e);
    if (Error e = agree(rope.factor, parsed->factor, file, "factor"))
      return std::move(e);
    if (Error e = agree(rope.shortMscale, parsed->shortMscale, file,
                        "short_mscale"))
      return std::move(e);
    if (Error e = agree(rope.longMscale, parsed->longMscale, file,
                        "long_mscale"))
      return std::move(e);
  }
  config.rope.longRope = rope.type == "longrope";
  config.rope.theta = theta.value_or(10000.0);
  if (!(config.rope.theta > 0))
    return reader.error("rope_theta", "must be positive");
  config.rope.partialRotaryFactor = prf.value_or(1.0);
  if (!(config.rope.partialRotaryFactor > 0 &&
        config.rope.partialRotaryFactor <= 1.0))
    return reader.error("partial_rotary_factor", "must be in (0, 1]");
  int64_t rotary = config.rotaryDim();
  if (rotary <= 0 || rotary % 2 != 0 ||
      double(rotary) != double(config.headDim) * config.rope.partialRotaryFactor)
    return reader.error("partial_rotary_factor",
                        "head_dim * partial_rotary_factor must be an even "
                        "integer");
  config.rope.originalMaxPositions = originalMax.value_or(config.maxPositions);
  if (config.rope.originalMaxPositions <= 0)
    return reader.error("original_max_position_embeddings",
                        "must be positive");
  if (config.rope.longRope) {
    size_t expected = size_t(rotary / 2);
    if (rope.shortFactor.size() != expected ||
        rope.longFactor.size() != expected)
      return reader.error(
          "rope_scaling",
          "longrope needs " + std::to_string(expected) +
              " short and long factors (head_dim * partial_rotary_factor / "
              "2), got " + std::to_string(rope.shortFactor.size()) + " and " +
              std::to_string(rope.longFactor.size()));
    // transformers derives the scale from the context ratio when
    // original_max_position_embeddings is known and ignores `factor`; a
    // `factor` that says otherwise would be silently dropped there.
    double ratio = double(config.maxPositions) /
                   double(config.rope.originalMaxPositions);
    if (rope.factor && std::fabs(*rope.factor - ratio) > 1e-9 &&
        originalMax)
      return reader.error("rope_scaling", "factor " +
                                              std::to_string(*rope.factor) +
                                              " disagrees with "
                                              "max_position_embeddings / "
                                              "original_max_position_"
                                              "embeddings = " +
                                              std::to_string(ratio));
    config.rope.shortFactor = rope.shortFactor;
    config.rope.longFactor = rope.longFactor;
    if (rope.shortMscale && rope.attentionFactor)
      return reader.error("rope_scaling", "gives both attention_factor and "
                                          "short_mscale");
    if (rope.shortMscale || rope.longMscale) {
      // PhiMoE: cos/sin scaled by short_mscale within the original context
      // and by long_mscale beyond it.
      if (!rope.shortMscale || !rope.longMscale)
        return reader.error("rope_scaling", "needs both short_mscale and "
                                            "long_mscale");
      if (!(*rope.shortMscale > 0) || !(*rope.longMscale > 0))
        return reader.error("rope_scaling", "mscale values must be positive");
      config.rope.attentionFactor = *rope.shortMscale;
      config.rope.longAttentionFactor = *rope.longMscale;
    } else if (rope.attentionFactor)
      config.rope.attentionFactor = *rope.attentionFactor;
    else
      config.rope.attentionFactor =
          ratio <= 1.0
              ? 1.0
              : std::sqrt(1.0 + std::log(ratio) /
                                    std::log(double(
                                        config.rope.originalMaxPositions)));
  } else {
    if (rope.factor)
      return reader.error("rope_scaling", "'factor' needs a scaling rope "
                                          "type");
    if (rope.shortMscale || rope.longMscale)
      return reader.error("rope_scaling", "mscale values need longrope");
    config.rope.attentionFactor = rope.attentionFactor.value_or(1.0);
  }

  // Fields with no effect on inference.
  reader.accept({"_name_or_path", "auto_map", "transformers_version",
                 "use_cache", "initializer_range", "attention_dropout",
                 "embd_pdrop", "resid_pdrop", "output_attentions",
                 "output_hidden_states", "return_dict", "_attn_implementation",
                 "_attn_implementation_autoset"});
  for (const std::string &key : extraInertKeys)
    reader.accept({key});
  if (Error e = reader.rejectUnknown(
          "PhiQ does not know whether it changes the math"))
    return std::move(e);

  // generation_config.json adds end tokens (Phi-3.5 stops at <|end|> too).
  llvm::SmallString<256> genPath(dir);
  llvm::sys::path::append(genPath, "generation_config.json");
  if (llvm::sys::fs::exists(genPath)) {
    auto gen = readJson(genPath);
    if (!gen)
      return gen.takeError();
    FieldReader genReader(*gen->getAsObject(), genPath.str().str(), "");
    auto genEos = genReader.integerOrList("eos_token_id");
    if (!genEos)
      return genEos.takeError();
    for (int64_t id : *genEos)
      if (!llvm::is_contained(config.eosTokenIds, id))
        config.eosTokenIds.push_back(id);
  }
  if (config.eosTokenIds.empty())
    return reader.error("eos_token_id",
                        "missing here and in generation_config.json");
  for (int64_t id : config.eosTokenIds)
    if (id < 0 || id >= config.vocabSize)
      return reader.error("eos_token_id", "id " + std::to_string(id) +
                                              " is outside the vocabulary");
  if (config.bosTokenId < 0 || config.bosTokenId >= config.vocabSize)
    return reader.error("bos_token_id", "outside the vocabulary");
  if (config.padTokenId < 0 || config.padTokenId >= config.vocabSize)
    return reader.error("pad_token_id", "outside the vocabulary");
  return config;
}
