//===- SentencePieceBPE.cpp - BPE via libsentencepiece ----------*- C++ -*-===//
//
// Why libsentencepiece gives tokenizer.json's ids: its dummy prefix equals
// the Prepend("▁") normalizer (applied per text run, as `tokenizers` applies
// normalizers per run between added tokens), escaping whitespace equals
// Replace(" ", "▁"), and its BPE merges the adjacent pair whose union has
// the best score, which is the order of tokenizer.json's merges (built from
// the scores). Those equalities need the settings checked in create().
//
//===----------------------------------------------------------------------===//
#include "SentencePieceBPE.h"
#include "SentencePieceModelSpec.h"

#include "llvm/Support/MemoryBuffer.h"

#include <sentencepiece_processor.h>

using namespace phiq::tok;
using llvm::Error;
using llvm::Expected;
using llvm::StringRef;
namespace json = llvm::json;

static const char kSpace[] = "\xE2\x96\x81"; // U+2581, SentencePiece's "▁".

SentencePieceBPE::SentencePieceBPE(TokenizerParts parts)
    : TokenizerBase(std::move(parts)),
      processor(std::make_unique<sentencepiece::SentencePieceProcessor>()) {}

SentencePieceBPE::~SentencePieceBPE() = default;

namespace {
/// True if `normalizer` is Sequence[Prepend("▁"), Replace(" ", "▁")].
bool isDummyPrefixNormalizer(const json::Value *normalizer) {
  const json::Object *seq = normalizer ? normalizer->getAsObject() : nullptr;
  if (!seq || seq->getString("type") != "Sequence")
    return false;
  const json::Array *steps = seq->getArray("normalizers");
  if (!steps || steps->size() != 2)
    return false;
  const json::Object *prepend = (*steps)[0].getAsObject();
  const json::Object *replace = (*steps)[1].getAsObject();
  if (!prepend || !replace || prepend->getString("type") != "Prepend" ||
      prepend->getString("prepend") != kSpace ||
      replace->getString("type") != "Replace" ||
      replace->getString("content") != kSpace)
    return false;
  const json::Object *pattern = replace->getObject("pattern");
  return pattern && pattern->getString("String") == " ";
}
} // namespace

Expected<std::unique_ptr<Tokenizer>>
SentencePieceBPE::create(const JsonFile &tokenizerJson, StringRef modelPath,
                         TokenizerParts parts) {
  StringRef file = tokenizerJson.path;
  JsonFields root(file, *tokenizerJson.root.getAsObject());
  if (!isDummyPrefixNormalizer(root.object.get("normalizer")))
    return root.error("normalizer",
                      "is not Sequence[Prepend(\"▁\"), Replace(\" \", \"▁\")], "
                      "the pipeline tokenizer.model reproduces");
  if (const json::Value *p = root.object.get("pre_tokenizer");
      p && p->kind() != json::Value::Null)
    return root.error("pre_tokenizer",
                      "is set; the SentencePiece pipeline has none");
  for (const AddedToken &t : parts.added.all())
    if (t.normalized)
      return fieldError(file, "added_tokens",
                        "has '" + t.content +
                            "' with normalized=true, which is matched after "
                            "normalization; not supported with "
                            "tokenizer.model");

  auto buffer = llvm::MemoryBuffer::getFile(modelPath, /*IsText=*/false);
  if (!buffer)
    return makeError(modelPath +
                     ": cannot read: " + buffer.getError().message());
  StringRef bytes = (*buffer)->getBuffer();
  Expected<SentencePieceModelSpec> spec =
      SentencePieceModelSpec::parse(bytes, modelPath);
  if (!spec)
    return spec.takeError();
  auto mismatch = [&](const llvm::Twine &what) {
    return makeError(modelPath + ": " + what +
                     ", so its ids would differ from " + file);
  };
  if (spec->modelType != 2)
    return mismatch("trainer_spec.model_type is not BPE");
  if (!spec->byteFallback)
    return mismatch("trainer_spec.byte_fallback is false");
  if (spec->treatWhitespaceAsSuffix)
    return mismatch("trainer_spec.treat_whitespace_as_suffix is true");
  if (!spec->addDummyPrefix)
    return mismatch("normalizer_spec.add_dummy_prefix is false");
  if (spec->removeExtraWhitespaces)
    return mismatch("normalizer_spec.remove_extra_whitespaces is true");
  if (!spec->escapeWhitespaces)
    return mismatch("normalizer_spec.escape_whitespaces is false");
  if (spec->hasCharsMap)
    return mismatch("normalizer_spec has normalization rules ('" +
                    spec->normalizerName + "')");
  for (const std::string &piece : spec->userDefinedPieces)
    if (!parts.added.byContent(piece))
      return mismatch("user-defined piece '" + piece +
                      "' is not an added token");

  auto tokenizer =
      std::unique_ptr<SentencePieceBPE>(new SentencePieceBPE(std::move(parts)));
  sentencepiece::util::Status status =
      tokenizer->processor->LoadFromSerializedProto(
          std::string_view(bytes.data(), bytes.size()));
  if (!status.ok())
    return makeError(modelPath +
                     ": SentencePiece cannot load it: " + status.ToString());

  // Decoding and tokenToId spell ids through tokenizer.json's vocabulary.
  const Vocab &vocab = tokenizer->parts.vocab;
  int pieces = tokenizer->processor->GetPieceSize();
  if (static_cast<size_t>(pieces) != vocab.size())
    return mismatch("it has " + llvm::Twine(pieces) + " pieces and " + file +
                    "'s model.vocab " + llvm::Twine(vocab.size()));
  for (int id = 0; id < pieces; ++id) {
    const std::string &piece = tokenizer->processor->IdToPiece(id);
    if (vocab.pieceOf(id) != StringRef(piece))
      return mismatch("piece " + llvm::Twine(id) + " is '" + piece +
                      "' but model.vocab spells it '" +
                      vocab.pieceOf(id).value_or("(none)") + "'");
  }
  tokenizer->wordsAreIndependent = true;
  for (int id = 0; id < pieces; ++id) {
    StringRef piece = tokenizer->processor->IdToPiece(id);
    for (size_t at = piece.find(kSpace, 1); at != StringRef::npos;
         at = piece.find(kSpace, at + 1))
      if (!piece.take_front(at).ends_with(kSpace))
        tokenizer->wordsAreIndependent = false;
  }
  return std::unique_ptr<Tokenizer>(std::move(tokenizer));
}

void SentencePieceBPE::encodeRun(StringRef text,
                                 std::vector<int32_t> &ids) const {
  std::vector<int> pieceIds;
  // Encode fails only on an unloaded model, which create() rules out.
  (void)processor->Encode(std::string_view(text.data(), text.size()),
                          &pieceIds);
  ids.insert(ids.end(), pieceIds.begin(), pieceIds.end());
}

void SentencePieceBPE::encodeText(StringRef text,
                                  std::vector<int32_t> &ids) const {
  // libsentencepiece slows down on very long inputs, so long text is cut
  // into runs of about kRunBytes. A cut goes at a space that follows a
  // character other than a space or "▁": no merge crosses it (see
  // wordsAreIndependent), and the run after it is passed without that
  // space, which the dummy prefix puts back as "▁". The ids are those of
  // the whole text.
  constexpr size_t kRunBytes = 4096;
  if (!wordsAreIndependent) {
    encodeRun(text, ids);
    return;
  }
  size_t begin = 0; // Start of the current run.
  for (;;) {
    size_t cut = StringRef::npos;
    for (size_t at = begin + kRunBytes; at + 1 < text.size();) {
      at = text.find(' ', at);
      if (at == StringRef::npos || at + 1 >= text.size())
        break;
      StringRef before = text.slice(begin, at);
      if (before.size() > 0 && !before.ends_with(" ") &&
          !before.ends_with(kSpace)) {
        cut = at;
        break;
      }
      ++at;
    }
    if (cut == StringRef::npos) {
      encodeRun(text.drop_front(begin), ids);
      return;
    }
    encodeRun(text.slice(begin, cut), ids);
    begin = cut + 1;
  }
}
