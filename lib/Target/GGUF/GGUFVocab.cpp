//===- GGUFVocab.cpp - A checkpoint's tokenizer as GGUF metadata -*- C++ -*-===//
//
// SentencePiece checkpoints (Phi-3/3.5, PhiMoE) become llama.cpp's "llama"
// vocabulary: pieces, scores and types straight from tokenizer.model, added
// tokens from tokenizer.json. Byte-level BPE checkpoints (Phi-4-mini) become
// "gpt2": vocabulary and merges from tokenizer.json, with the pre-tokenizer
// named by recognising its split regex (llama.cpp keys its pre-tokenizers
// by name, not by regex).
//
//===----------------------------------------------------------------------===//
#include "phiq/Target/GGUF/GGUFVocab.h"

#include "llvm/Support/FileSystem.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"

#include <sentencepiece_processor.h>

using namespace phiq::gguf;
using llvm::Error;
using llvm::Expected;
using llvm::StringRef;
namespace json = llvm::json;

namespace {

/// The split regex of GPT-4o's tokenizer (o200k), which Phi-4-mini uses;
/// llama.cpp calls this pre-tokenizer "gpt-4o".
constexpr StringRef kGpt4oPattern =
    "[^\\r\\n\\p{L}\\p{N}]?[\\p{Lu}\\p{Lt}\\p{Lm}\\p{Lo}\\p{M}]*[\\p{Ll}\\p{Lm}"
    "\\p{Lo}\\p{M}]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?|[^\\r\\n\\p{L}\\p{N}]?[\\p{Lu}"
    "\\p{Lt}\\p{Lm}\\p{Lo}\\p{M}]+[\\p{Ll}\\p{Lm}\\p{Lo}\\p{M}]*(?i:'s|'t|'re|"
    "'ve|'m|'ll|'d)?|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n/]*|\\s*[\\r\\n]+|"
    "\\s+(?!\\S)|\\s+";

Expected<json::Value> readJson(StringRef path) {
  auto buffer = llvm::MemoryBuffer::getFile(path, /*IsText=*/true);
  if (!buffer)
    return llvm::createStringError(path + ": cannot read: " +
                                   buffer.getError().message());
  auto value = json::parse((*buffer)->getBuffer());
  if (!value)
    return llvm::createStringError(path + ": invalid JSON: " +
                                   llvm::toString(value.takeError()));
  return value;
}

/// Finds the regex of a Split pre-tokenizer anywhere in `node`.
std::optional<std::string> splitPattern(const json::Value *node) {
  if (!node)
    return std::nullopt;
  if (const json::Object *o = node->getAsObject()) {
    if (auto type = o->getString("type"); type && *type == "Split")
      if (const json::Object *pattern = o->getObject("pattern"))
        if (auto regex = pattern->getString("Regex"))
          return regex->str();
    for (const auto &kv : *o)
      if (auto found = splitPattern(&kv.second))
        return found;
  } else if (const json::Array *a = node->getAsArray()) {
    for (const json::Value &v : *a)
      if (auto found = splitPattern(&v))
        return found;
  }
  return std::nullopt;
}

} // namespace

std::optional<int64_t> Vocab::idOf(StringRef text) const {
  for (size_t i = 0; i < tokens.size(); ++i)
    if (tokens[i] == text)
      return int64_t(i);
  return std::nullopt;
}

Expected<Vocab> phiq::gguf::readVocab(StringRef modelDir, int64_t vocabSize) {
  llvm::SmallString<256> jsonPath(modelDir), spPath(modelDir),
      configPath(modelDir);
  llvm::sys::path::append(jsonPath, "tokenizer.json");
  llvm::sys::path::append(spPath, "tokenizer.model");
  llvm::sys::path::append(configPath, "tokenizer_config.json");
  auto tokenizerJson = readJson(jsonPath);
  if (!tokenizerJson)
    return tokenizerJson.takeError();
  const json::Object *root = tokenizerJson->getAsObject();
  const json::Object *model = root ? root->getObject("model") : nullptr;
  if (!model)
    return llvm::createStringError(jsonPath + ": no 'model' object");

  Vocab vocab;
  vocab.tokens.assign(size_t(vocabSize), std::string());
  vocab.scores.assign(size_t(vocabSize), 0.0f);
  vocab.types.assign(size_t(vocabSize), int32_t(TokenType::Unused));
  std::vector<bool> filled(static_cast<size_t>(vocabSize), false);
  auto set = [&](int64_t id, std::string text, float score,
                 TokenType type) -> Error {
    if (id < 0 || id >= vocabSize)
      return llvm::createStringError(
          jsonPath + ": token id " + std::to_string(id) + " ('" + text +
          "') is outside the model's vocabulary of " +
          std::to_string(vocabSize));
    vocab.tokens[id] = std::move(text);
    vocab.scores[id] = score;
    vocab.types[id] = int32_t(type);
    filled[id] = true;
    return Error::success();
  };

  bool byteFallback = model->getBoolean("byte_fallback").value_or(false);
  if (llvm::sys::fs::exists(spPath) && byteFallback) {
    // SentencePiece: llama.cpp's "llama" vocabulary.
    vocab.model = "llama";
    sentencepiece::SentencePieceProcessor sp;
    auto status = sp.Load(std::string(spPath));
    if (!status.ok())
      return llvm::createStringError(spPath + ": " + status.ToString());
    for (int id = 0; id < sp.GetPieceSize(); ++id) {
      TokenType type = sp.IsUnknown(id)   ? TokenType::Unknown
                       : sp.IsControl(id) ? TokenType::Control
                       : sp.IsByte(id)    ? TokenType::Byte
                       : sp.IsUnused(id)  ? TokenType::Unused
                                          : TokenType::Normal;
      if (Error e = set(id, sp.IdToPiece(id), sp.GetScore(id), type))
        return std::move(e);
    }
    vocab.unknownId = sp.unk_id() >= 0 ? std::optional<int64_t>(sp.unk_id())
                                       : std::nullopt;
  } else {
    // Byte-level BPE: llama.cpp's "gpt2" vocabulary.
    vocab.model = "gpt2";
    const json::Object *entries = model->getObject("vocab");
    if (!entries)
      return llvm::createStringError(jsonPath + ": model has no vocab");
    for (const auto &kv : *entries) {
      auto id = kv.second.getAsInteger();
      if (!id)
        return llvm::createStringError(jsonPath + ": vocab entry '" +
                                       kv.first.str() + "' is not an id");
      if (Error e = set(*id, kv.first.str(), 0.0f, TokenType::Normal))
        return std::move(e);
    }
    if (const json::Array *merges = model->getArray("merges")) {
      for (const json::Value &m : *merges) {
        if (auto s = m.getAsString())
          vocab.merges.push_back(s->str());
        else if (const json::Array *pair = m.getAsArray();
                 pair && pair->size() == 2 && (*pair)[0].getAsString() &&
                 (*pair)[1].getAsString())
          vocab.merges.push_back((*(*pair)[0].getAsString() + " " +
                                  *(*pair)[1].getAsString())
                                     .str());
        else
          return llvm::createStringError(jsonPath + ": malformed merge");
      }
    }
    std::optional<std::string> pattern =
        splitPattern(root->get("pre_tokenizer"));
    if (!pattern || *pattern != kGpt4oPattern)
      return llvm::createStringError(
          jsonPath + ": the pre-tokenizer is not one llama.cpp knows by "
                     "name (PhiQ recognises GPT-4o's, which Phi-4-mini uses)");
    vocab.pre = "gpt-4o";
  }

  // Added tokens: control if special, user-defined otherwise.
  if (const json::Array *added = root->getArray("added_tokens")) {
    for (const json::Value &v : *added) {
      const json::Object *token = v.getAsObject();
      auto id = token ? token->getInteger("id") : std::nullopt;
      auto content = token ? token->getString("content") : std::nullopt;
      if (!id || !content)
        return llvm::createStringError(jsonPath +
                                       ": added token without id or content");
      bool special = token->getBoolean("special").value_or(false);
      float score = vocab.model == "llama" && filled[*id] ? vocab.scores[*id]
                                                          : 0.0f;
      TokenType type = special ? TokenType::Control : TokenType::UserDefined;
      // SentencePiece's own <unk>/<s>/</s> keep the type the model gives.
      if (vocab.model == "llama" && filled[*id] && *id < 3)
        continue;
      if (Error e = set(*id, content->str(), score, type))
        return std::move(e);
    }
  }
  for (int64_t id = 0; id < vocabSize; ++id)
    if (!filled[id]) {
      vocab.tokens[id] = "[PAD" + std::to_string(id) + "]";
      vocab.scores[id] = -1000.0f;
      vocab.types[id] = int32_t(TokenType::Unused);
    }

  if (llvm::sys::fs::exists(configPath)) {
    auto config = readJson(configPath);
    if (!config)
      return config.takeError();
    if (const json::Object *c = config->getAsObject()) {
      vocab.addBos = c->getBoolean("add_bos_token").value_or(false);
      vocab.addEos = c->getBoolean("add_eos_token").value_or(false);
      if (auto t = c->getString("chat_template"))
        vocab.chatTemplate = t->str();
    }
  }
  return vocab;
}

llvm::Expected<Vocab> phiq::gguf::readVocab(const GGUFFile &file,
                                            int64_t vocabSize) {
  Vocab vocab;
  auto model = file.get<std::string>("tokenizer.ggml.model");
  if (!model)
    return model.takeError();
  vocab.model = *model;
  if (vocab.model != "llama" && vocab.model != "gpt2")
    return llvm::createStringError(
        file.getPath() + ": tokenizer.ggml.model is '" + vocab.model +
        "'; PhiQ writes 'llama' (SentencePiece) or 'gpt2' (byte-level BPE)");
  auto pre = file.getOptional<std::string>("tokenizer.ggml.pre");
  if (!pre)
    return pre.takeError();
  vocab.pre = pre->value_or("default");
  auto tokens = file.get<std::vector<std::string>>("tokenizer.ggml.tokens");
  if (!tokens)
    return tokens.takeError();
  vocab.tokens = *tokens;
  if (int64_t(vocab.tokens.size()) != vocabSize)
    return llvm::createStringError(
        file.getPath() + ": tokenizer.ggml.tokens has " +
        llvm::Twine(vocab.tokens.size()) + " tokens, the model " +
        llvm::Twine(vocabSize));
  auto scores = file.getOptional<std::vector<float>>("tokenizer.ggml.scores");
  if (!scores)
    return scores.takeError();
  if (*scores)
    vocab.scores = **scores;
  auto types = file.get<std::vector<int32_t>>("tokenizer.ggml.token_type");
  if (!types)
    return types.takeError();
  vocab.types = *types;
  auto merges =
      file.getOptional<std::vector<std::string>>("tokenizer.ggml.merges");
  if (!merges)
    return merges.takeError();
  if (*merges)
    vocab.merges = **merges;
  if (file.lookup("tokenizer.ggml.unknown_token_id")) {
    auto id = file.getInteger("tokenizer.ggml.unknown_token_id");
    if (!id)
      return id.takeError();
    vocab.unknownId = *id;
  }
  for (auto [key, flag] : {std::pair{"tokenizer.ggml.add_bos_token", &vocab.addBos},
                           std::pair{"tokenizer.ggml.add_eos_token", &vocab.addEos}}) {
    auto value = file.getOptional<bool>(key);
    if (!value)
      return value.takeError();
    *flag = value->value_or(false);
  }
  auto chat = file.getOptional<std::string>("tokenizer.chat_template");
  if (!chat)
    return chat.takeError();
  vocab.chatTemplate = *chat;
  return vocab;
}
