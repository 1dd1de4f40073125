//===- GGUFConfig.cpp - Hyper-parameters of phi3 / phimoe GGUFs -*- C++ -*-===//
//
// Reads the keys llama.cpp's loader reads for `phi3` and `phimoe` (and the
// tokenizer's special ids), with llama.cpp's defaults where a key is
// optional, and rejects what neither llama.cpp's converter nor PhiQ's
// writer would put in such a file. Counts may be any integer type (files
// disagree on u32 versus u64).
//
//===----------------------------------------------------------------------===//
#include "GGUFConfig.h"

#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/StringSet.h"

#include <charconv>
#include <cmath>
#include <cstdlib>

using namespace phiq::gguf;
using llvm::Error;
using llvm::Expected;
using llvm::StringRef;
using llvm::Twine;

namespace {

/// Reads keys of one file and remembers which ones it read, so that the
/// leftovers can be judged.
class KeyReader {
public:
  KeyReader(const GGUFFile &file, StringRef arch) : file(file), arch(arch) {}

  std::string archKey(StringRef key) const { return (arch + "." + key).str(); }

  Error error(StringRef key, const Twine &message) const {
    return llvm::createStringError(
        std::make_error_code(std::errc::invalid_argument),
        file.getPath() + ": key '" + key + "': " + message);
  }

  /// A required integer that must be positive.
  Expected<int64_t> positive(StringRef key, StringRef what) {
    used.insert(key);
    Expected<int64_t> value = file.getInteger(key);
    if (!value)
      return value.takeError();
    if (*value <= 0)
      return error(key,
                   what + " must be positive, got " + std::to_string(*value));
    return *value;
  }

  /// An optional integer (nullopt when absent).
  Expected<std::optional<int64_t>> optionalInteger(StringRef key) {
    used.insert(key);
    if (!file.lookup(key))
      return std::nullopt;
    Expected<int64_t> value = file.getInteger(key);
    if (!value)
      return value.takeError();
    return std::optional<int64_t>(*value);
  }

  /// An optional floating-point value (f32 or f64; nullopt when absent).
  Expected<std::optional<double>> optionalNumber(StringRef key) {
    used.insert(key);
    const GGUFValue *value = file.lookup(key);
    if (!value)
      return std::nullopt;
    if (const float *f = value->getIf<float>())
      return std::optional<double>(widenF32(*f));
    if (const double *d = value->getIf<double>())
      return std::optional<double>(*d);
    return error(key, "has type " + value->getTypeString() +
                          ", expected f32 or f64");
  }

  void accept(StringRef key) { used.insert(key); }
  bool wasRead(StringRef key) const { return used.contains(key); }

  const GGUFFile &file;
  std::string arch;

private:
  llvm::StringSet<> used;
};

/// PhiQ's name of llama.cpp's `general.file_type` (enum llama_ftype).
std::optional<std::string> fileTypeName(int64_t id) {
  static constexpr std::pair<int64_t, const char *> kNames[] = {
      {0, "F32"},     {1, "F16"},     {2, "Q4_0"},    {3, "Q4_1"},
      {7, "Q8_0"},    {8, "Q5_0"},    {9, "Q5_1"},    {10, "Q2_K"},
      {11, "Q3_K_S"}, {12, "Q3_K_M"}, {13, "Q3_K_L"}, {14, "Q4_K_S"},
      {15, "Q4_K_M"}, {16, "Q5_K_S"}, {17, "Q5_K_M"}, {18, "Q6_K"},
      {25, "IQ4_NL"}, {32, "BF16"}};
  for (auto [value, name] : kNames)
    if (value == id)
      return std::string(name);
  return std::nullopt;
}

/// Judges every key nobody read: the inert groups pass, the rest fail.
Error checkLeftoverKeys(const KeyReader &reader) {
  for (const GGUFKeyValue &kv : reader.file.getKeyValues()) {
    StringRef key = kv.key;
    if (reader.wasRead(key))
      continue;
    // Descriptive metadata, the tokenizer (PhiQ reads it from the
    // tokenizer folder), and llama-quantize's notes (imatrix provenance).
    if (key.starts_with("general.") || key.starts_with("tokenizer.") ||
        key.starts_with("quantize."))
      continue;
    if (key == "split.count") {
      std::optional<int64_t> count = kv.value.getAsInteger();
      if (count && *count == 1)
        continue;
      return reader.error(key, "split GGUF files are not supported; merge "
                               "them with llama-gguf-split --merge first");
    }
    if (key == "split.no" || key == "split.tensors.count")
      continue;
    if (key.starts_with(reader.arch + "."))
      return reader.error(key, "unknown " + reader.arch +
                                   " key; PhiQ does not know whether it "
                                   "changes the math");
    return reader.error(key, "unknown key; PhiQ does not know whether it "
                             "changes the math");
  }
  return Error::success();
}

/// The special token ids, checked against the vocabulary size.
Error readTokens(KeyReader &reader, GGUFModelConfig &config) {
  const GGUFFile &file = reader.file;
  const std::vector<std::string> *tokens = nullptr;
  StringRef tokensKey = "tokenizer.ggml.tokens";
  if (const GGUFValue *value = file.lookup(tokensKey)) {
    tokens = value->getIf<std::vector<std::string>>();
    if (!tokens)
      return reader.error(tokensKey, "has type " + value->getTypeString() +
                                         ", expected arr[str]");
  }
  std::string vocabKey = reader.archKey("vocab_size");
  auto declared = reader.optionalInteger(vocabKey);
  if (!declared)
    return declared.takeError();
  if (tokens) {
    config.vocabSize = int64_t(tokens->size());
    if (*declared && **declared != config.vocabSize)
      return reader.error(vocabKey, "is " + std::to_string(**declared) +
                                        " but " + tokensKey + " holds " +
                                        std::to_string(config.vocabSize) +
                                        " tokens");
  } else if (*declared) {
    config.vocabSize = **declared;
  } else {
    return reader.error(tokensKey, "missing, and " + vocabKey +
                                       " is missing too; expected the "
                                       "token list");
  }
  if (config.vocabSize <= 0)
    return reader.error(tokensKey, "the vocabulary is empty");

  auto special = [&](StringRef key) -> Expected<std::optional<int64_t>> {
    auto id = reader.optionalInteger(key);
    if (!id || !*id)
      return id;
    if (**id < 0 || **id >= config.vocabSize)
      return reader.error(key, std::to_string(**id) +
                                   " is outside the vocabulary [0, " +
                                   std::to_string(config.vocabSize) + ")");
    return id;
  };
  auto eos = special("tokenizer.ggml.eos_token_id");
  if (!eos)
    return eos.takeError();
  auto eot = special("tokenizer.ggml.eot_token_id");
  if (!eot)
    return eot.takeError();
  auto eom = special("tokenizer.ggml.eom_token_id");
  if (!eom)
    return eom.takeError();
  auto bos = special("tokenizer.ggml.bos_token_id");
  if (!bos)
    return bos.takeError();
  auto pad = special("tokenizer.ggml.padding_token_id");
  if (!pad)
    return pad.takeError();
  if (!*eos && !*eot)
    return reader.error("tokenizer.ggml.eos_token_id",
                        "missing, expected the end-of-sequence token id");
  for (const std::optional<int64_t> &id : {*eos, *eot, *eom})
    if (id && !llvm::is_contained(config.eosTokenIds, *id))
      config.eosTokenIds.push_back(*id);
  // llama.cpp also ends generation at these tokens, found by their text.
  if (tokens)
    for (auto [id, text] : llvm::enumerate(*tokens))
      if (llvm::is_contained({"<|end|>", "<|endoftext|>", "<|im_end|>",
                              "<|eot_id|>", "<|end_of_text|>"},
                             text) &&
          !llvm::is_contained(config.eosTokenIds, int64_t(id)))
        config.eosTokenIds.push_back(int64_t(id));
  int64_t firstEnd = config.eosTokenIds.front();
  config.bosTokenId = bos->value_or(firstEnd);
  config.padTokenId = pad->value_or(firstEnd);
  return Error::success();
}

} // namespace

double phiq::gguf::widenF32(float value) {
  char text[64];
  auto [end, ec] = std::to_chars(text, text + sizeof(text) - 1, value);
  if (ec != std::errc())
    return value;
  *end = '\0';
  return std::strtod(text, nullptr);
}

Expected<GGUFModelConfig>
phiq::gguf::parseGGUFModelConfig(const GGUFFile &file) {
  GGUFModelConfig config;
  StringRef archKey = "general.architecture";
  Expected<const std::string &> arch = file.get<std::string>(archKey);
  if (!arch)
    return arch.takeError();
  KeyReader reader(file, *arch);
  reader.accept(archKey);
  if (*arch != "phi3" && *arch != "phimoe")
    return reader.error(archKey, "unknown architecture '" + *arch +
                                     "'; PhiQ imports phi3 (Phi-3/3.5-mini, "
                                     "Phi-4-mini) and phimoe (Phi-3.5-MoE)");
  config.arch = *arch;

  auto positive = [&](StringRef key, int64_t &out) -> Error {
    Expected<int64_t> value = reader.positive(reader.archKey(key), key);
    if (!value)
      return value.takeError();
    out = *value;
    return Error::success();
  };
  if (Error e = positive("context_length", config.contextLength))
    return std::move(e);
  if (Error e = positive("embedding_length", config.hiddenSize))
    return std::move(e);
  if (Error e = positive("feed_forward_length", config.intermediateSize))
    return std::move(e);
  if (Error e = positive("block_count", config.numLayers))
    return std::move(e);
  if (Error e = positive("attention.head_count", config.numHeads))
    return std::move(e);

  // Without head_count_kv llama.cpp runs multi-head attention.
  std::string kvKey = reader.archKey("attention.head_count_kv");
  auto kv = reader.optionalInteger(kvKey);
  if (!kv)
    return kv.takeError();
  config.numKvHeads = kv->value_or(config.numHeads);
  if (config.numKvHeads <= 0 || config.numHeads % config.numKvHeads != 0)
    return reader.error(kvKey, "must divide attention.head_count (" +
                                   std::to_string(config.numHeads) + "), got " +
                                   std::to_string(config.numKvHeads));
  std::string headKey = reader.archKey("attention.head_count");
  if (config.hiddenSize % config.numHeads != 0)
    return reader.error(headKey, std::to_string(config.numHeads) +
                                     " heads do not divide embedding_length " +
                                     std::to_string(config.hiddenSize));
  config.headDim = config.hiddenSize / config.numHeads;
  for (StringRef key : {"attention.key_length", "attention.value_length"}) {
    std::string full = reader.archKey(key);
    auto length = reader.optionalInteger(full);
    if (!length)
      return length.takeError();
    if (*length && **length != config.headDim)
      return reader.error(full, "is " + std::to_string(**length) +
                                    ", but phi3 heads are embedding_length / "
                                    "head_count = " +
                                    std::to_string(config.headDim));
  }

  // Norm epsilon: llama.cpp's phi3 graph reads the RMS key for both models.
  std::string epsKey = reader.archKey("attention.layer_norm_rms_epsilon");
  auto eps = reader.optionalNumber(epsKey);
  if (!eps)
    return eps.takeError();
  std::string lnKey = reader.archKey("attention.layer_norm_epsilon");
  auto lnEps = reader.optionalNumber(lnKey);
  if (!lnEps)
    return lnEps.takeError();
  if (!*eps)
    return reader.error(epsKey, "missing, expected the norm epsilon (f32)");
  if (*lnEps && float(**lnEps) != float(**eps))
    return reader.error(lnKey, "differs from " + epsKey);
  if (!(**eps > 0))
    return reader.error(epsKey, "must be positive");
  config.normEps = **eps;

  std::string rotKey = reader.archKey("rope.dimension_count");
  auto rot = reader.optionalInteger(rotKey);
  if (!rot)
    return rot.takeError();
  config.rotaryDim = rot->value_or(config.headDim);
  if (config.rotaryDim <= 0 || config.rotaryDim > config.headDim ||
      config.rotaryDim % 2 != 0)
    return reader.error(rotKey, "must be even and in (0, head_dim = " +
                                    std::to_string(config.headDim) + "], got " +
                                    std::to_string(config.rotaryDim));
  std::string thetaKey = reader.archKey("rope.freq_base");
  auto theta = reader.optionalNumber(thetaKey);
  if (!theta)
    return theta.takeError();
  config.ropeTheta = theta->value_or(10000.0);
  if (!(config.ropeTheta > 0))
    return reader.error(thetaKey, "must be positive");

  std::string windowKey = reader.archKey("attention.sliding_window");
  auto window = reader.optionalInteger(windowKey);
  if (!window)
    return window.takeError();
  if (*window && **window < 0)
    return reader.error(windowKey, "must not be negative");
  // 0 is llama.cpp's "no window".
  if (*window && **window > 0)
    config.slidingWindow = **window;

  std::string origKey = reader.archKey("rope.scaling.original_context_length");
  auto orig = reader.optionalInteger(origKey);
  if (!orig)
    return orig.takeError();
  if (*orig && **orig <= 0)
    return reader.error(origKey, "must be positive");
  config.originalContextLength = *orig;
  std::string attnKey = reader.archKey("rope.scaling.attn_factor");
  auto attn = reader.optionalNumber(attnKey);
  if (!attn)
    return attn.takeError();
  if (*attn && !(**attn > 0))
    return reader.error(attnKey, "must be positive");
  config.attnFactor = *attn;
  std::string scalingKey = reader.archKey("rope.scaling.type");
  if (const GGUFValue *type = file.lookup(scalingKey)) {
    reader.accept(scalingKey);
    const std::string *text = type->getIf<std::string>();
    if (!text || (*text != "longrope" && *text != "none"))
      return reader.error(scalingKey, "expected \"longrope\" or \"none\"");
  }

  std::string expertKey = reader.archKey("expert_count");
  std::string usedKey = reader.archKey("expert_used_count");
  if (config.isMoE()) {
    if (Error e = positive("expert_count", config.numExperts))
      return std::move(e);
    if (Error e = positive("expert_used_count", config.topK))
      return std::move(e);
    if (config.topK > config.numExperts)
      return reader.error(usedKey, "is larger than expert_count");
    // PhiMoE's sparsemixer is written for exactly two experts.
    if (config.topK != 2)
      return reader.error(usedKey, "PhiMoE's sparsemixer routes every token "
                                   "to exactly 2 experts, got " +
                                       std::to_string(config.topK));
  } else {
    auto experts = reader.optionalInteger(expertKey);
    if (!experts)
      return experts.takeError();
    auto used = reader.optionalInteger(usedKey);
    if (!used)
      return used.takeError();
    if ((*experts && **experts != 0) || (*used && **used != 0))
      return reader.error(*experts ? expertKey : usedKey,
                          "phi3 models have no experts");
  }

  if (Error e = readTokens(reader, config))
    return std::move(e);

  if (const GGUFValue *type = file.lookup("general.file_type"))
    if (std::optional<int64_t> id = type->getAsInteger())
      config.fileType = fileTypeName(*id);

  if (Error e = checkLeftoverKeys(reader))
    return std::move(e);
  return config;
}
