//===- Tokenizer.cpp - Loading a model folder's tokenizer -------*- C++ -*-===//
//
// The factory behind Tokenizer::load: reads tokenizer.json (the pipeline
// transformers runs) and tokenizer_config.json (extra added tokens, special
// token names, the chat template), then picks the implementation: the
// SentencePiece one when tokenizer.json describes a BPE with byte fallback,
// byte-level BPE otherwise.
//
//===----------------------------------------------------------------------===//
#include "phiq/Tokenizer/Tokenizer.h"

#include "ByteLevelBPE.h"
#include "JsonFile.h"
#include "SentencePieceBPE.h"
#include "TokenizerBase.h"

#include "llvm/ADT/SmallString.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"

using namespace phiq::tok;
using llvm::Error;
using llvm::Expected;
using llvm::StringRef;
namespace json = llvm::json;

Tokenizer::~Tokenizer() = default;

namespace {
std::string pathIn(StringRef dir, StringRef name) {
  llvm::SmallString<256> path(dir);
  llvm::sys::path::append(path, name);
  return std::string(path);
}

/// The chat template: tokenizer_config.json's `chat_template` (a string, or
/// a list of {name, template} whose "default" entry is used), else the
/// chat_template.jinja file newer transformers versions write.
Expected<ChatTemplate> readChatTemplate(StringRef dir, const JsonFile *config) {
  std::optional<std::string> eos;
  std::string configPath =
      config ? config->path : pathIn(dir, "tokenizer_config.json");
  if (config) {
    JsonFields cfg(config->path, *config->root.getAsObject());
    if (const json::Value *v = cfg.object.get("eos_token")) {
      if (std::optional<StringRef> s = v->getAsString())
        eos = s->str();
      else if (const json::Object *o = v->getAsObject();
               o && o->getString("content"))
        eos = o->getString("content")->str();
      else if (v->kind() != json::Value::Null)
        return cfg.error("eos_token",
                         "must be a string or an object with 'content'");
    }
    if (const json::Value *v = cfg.object.get("chat_template");
        v && v->kind() != json::Value::Null) {
      if (std::optional<StringRef> s = v->getAsString())
        return ChatTemplate::recognise(*s, config->path, eos);
      const json::Array *list = v->getAsArray();
      if (!list)
        return cfg.error("chat_template", "must be a string or a list");
      for (size_t i = 0; i < list->size(); ++i) {
        const json::Object *entry = (*list)[i].getAsObject();
        std::string field = "chat_template[" + std::to_string(i) + "]";
        if (!entry)
          return fieldError(config->path, field, "must be an object");
        JsonFields fields(config->path, *entry, field);
        Expected<StringRef> name = fields.getString("name");
        if (!name)
          return name.takeError();
        Expected<StringRef> text = fields.getString("template");
        if (!text)
          return text.takeError();
        if (*name == "default")
          return ChatTemplate::recognise(*text, config->path, eos);
      }
      return cfg.error("chat_template", "has no template named 'default'");
    }
  }
  std::string jinjaPath = pathIn(dir, "chat_template.jinja");
  if (!llvm::sys::fs::exists(jinjaPath))
    return ChatTemplate::missing(configPath);
  auto buffer = llvm::MemoryBuffer::getFile(jinjaPath, /*IsText=*/true);
  if (!buffer)
    return makeError(jinjaPath +
                     ": cannot read: " + buffer.getError().message());
  return ChatTemplate::recognise((*buffer)->getBuffer(), jinjaPath, eos);
}
} // namespace

Expected<std::unique_ptr<Tokenizer>> Tokenizer::load(StringRef modelDir) {
  Expected<JsonFile> tokenizerJson =
      readJsonFile(pathIn(modelDir, "tokenizer.json"));
  if (!tokenizerJson)
    return tokenizerJson.takeError();
  StringRef file = tokenizerJson->path;

  // tokenizer_config.json is optional (transformers loads without it), but
  // a present one must parse.
  std::optional<JsonFile> config;
  std::string configPath = pathIn(modelDir, "tokenizer_config.json");
  if (llvm::sys::fs::exists(configPath)) {
    Expected<JsonFile> parsed = readJsonFile(configPath);
    if (!parsed)
      return parsed.takeError();
    config = std::move(*parsed);
  }

  JsonFields root(file, *tokenizerJson->root.getAsObject());
  Expected<const json::Object *> modelObject = root.getObject("model");
  if (!modelObject)
    return modelObject.takeError();
  JsonFields model(file, **modelObject, "model");
  Expected<std::optional<StringRef>> type = model.optionalString("type");
  if (!type)
    return type.takeError();
  if (!*type)
    return model.error("type", "is missing");
  if (**type != "BPE")
    return model.error("type", "is '" + **type +
                                   "'; only BPE tokenizers are supported");
  Expected<const json::Object *> vocabObject = model.getObject("vocab");
  if (!vocabObject)
    return vocabObject.takeError();
  Expected<std::optional<bool>> byteFallback =
      model.optionalBool("byte_fallback");
  if (!byteFallback)
    return byteFallback.takeError();

  TokenizerParts parts;
  Expected<Vocab> vocab = Vocab::fromJson(file, **vocabObject);
  if (!vocab)
    return vocab.takeError();
  parts.vocab = std::move(*vocab);
  Expected<AddedVocabulary> added = AddedVocabulary::fromFiles(
      *tokenizerJson, config ? &*config : nullptr, parts.vocab);
  if (!added)
    return added.takeError();
  parts.added = std::move(*added);
  Expected<Decoder> decoder =
      Decoder::fromJson(file, root.object.get("decoder"));
  if (!decoder)
    return decoder.takeError();
  parts.decoder = std::move(*decoder);
  Expected<ChatTemplate> chat =
      readChatTemplate(modelDir, config ? &*config : nullptr);
  if (!chat)
    return chat.takeError();
  parts.chat = std::move(*chat);
  if (config) {
    JsonFields cfg(config->path, *config->root.getAsObject());
    Expected<std::optional<bool>> cleanUp =
        cfg.optionalBool("clean_up_tokenization_spaces");
    if (!cleanUp)
      return cleanUp.takeError();
    parts.cleanUpSpaces = cleanUp->value_or(false);
  }

  if (byteFallback->value_or(false)) {
    std::string spModel = pathIn(modelDir, "tokenizer.model");
    if (!llvm::sys::fs::exists(spModel))
      return makeError(file +
                       ": describes a SentencePiece BPE "
                       "(model.byte_fallback is true) but " +
                       spModel + " is missing");
    return SentencePieceBPE::create(*tokenizerJson, spModel, std::move(parts));
  }
  return ByteLevelBPE::create(*tokenizerJson, std::move(parts));
}
