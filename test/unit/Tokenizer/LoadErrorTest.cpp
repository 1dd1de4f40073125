//===- LoadErrorTest.cpp - Loading broken model folders ---------*- C++ -*-===//
//
// Tokenizer::load must turn every broken folder into an llvm::Error that
// names the file and the field, never a crash or a silently different
// tokenizer. Each test copies a real model folder into a scratch directory,
// breaks one thing, and checks the message.
//
//===----------------------------------------------------------------------===//
#include "TestUtil.h"

using namespace phiq::tok;
using namespace phiq::tok::test;
namespace json = llvm::json;

namespace {

/// Expects `message` to contain each of `parts`.
void expectMentions(const std::string &message,
                    std::initializer_list<std::string> parts) {
  for (const std::string &part : parts)
    EXPECT_NE(message.find(part), std::string::npos)
        << "'" << part << "' missing from: " << message;
}

/// A byte-level (phi4-mini-tiny) folder whose tokenizer.json `edit` changed.
std::string loadEditedPhi4(const ScratchDir &dir,
                           const std::function<void(json::Object &)> &edit) {
  dir.copyFrom("phi4-mini-tiny", {"tokenizer_config.json"});
  dir.copyEdited("phi4-mini-tiny", "tokenizer.json", edit);
  return loadError(dir.path);
}

json::Object &modelOf(json::Object &root) { return *root.getObject("model"); }

TEST(TokenizerLoadErrors, RejectsMissingTokenizerJson) {
  ScratchDir dir;
  expectMentions(loadError(dir.path), {dir.file("tokenizer.json")});
  expectMentions(loadError("/nonexistent/phiq/model"),
                 {"/nonexistent/phiq/model/tokenizer.json"});
}

TEST(TokenizerLoadErrors, RejectsMalformedTokenizerJson) {
  ScratchDir dir;
  writeFile(dir.file("tokenizer.json"), "{\"model\": ");
  expectMentions(loadError(dir.path),
                 {dir.file("tokenizer.json"), "malformed JSON"});
  writeFile(dir.file("tokenizer.json"), "[1, 2]");
  expectMentions(loadError(dir.path), {dir.file("tokenizer.json"), "object"});
}

TEST(TokenizerLoadErrors, RejectsTokenizerJsonWithoutModel) {
  ScratchDir dir;
  std::string message =
      loadEditedPhi4(dir, [](json::Object &root) { root.erase("model"); });
  expectMentions(message, {dir.file("tokenizer.json"), "'model'", "missing"});
}

TEST(TokenizerLoadErrors, RejectsModelWithoutVocab) {
  ScratchDir dir;
  std::string message = loadEditedPhi4(
      dir, [](json::Object &root) { modelOf(root).erase("vocab"); });
  expectMentions(message, {dir.file("tokenizer.json"), "'model.vocab'"});
}

TEST(TokenizerLoadErrors, RejectsVocabEntryThatIsNotAnId) {
  ScratchDir dir;
  std::string message = loadEditedPhi4(dir, [](json::Object &root) {
    (*modelOf(root).getObject("vocab"))["zz"] = "not an id";
  });
  expectMentions(message, {dir.file("tokenizer.json"), "'model.vocab.zz'"});
}

TEST(TokenizerLoadErrors, RejectsModelTypesOtherThanBpe) {
  ScratchDir dir;
  std::string message = loadEditedPhi4(
      dir, [](json::Object &root) { modelOf(root)["type"] = "Unigram"; });
  expectMentions(message,
                 {dir.file("tokenizer.json"), "'model.type'", "Unigram"});
}

TEST(TokenizerLoadErrors, RejectsMergeOfTokenMissingFromVocab) {
  ScratchDir dir;
  size_t index = 0;
  std::string message = loadEditedPhi4(dir, [&](json::Object &root) {
    json::Array &merges = *modelOf(root).getArray("merges");
    index = merges.size();
    merges.push_back(json::Array{"no-such-left", "no-such-right"});
  });
  expectMentions(message, {dir.file("tokenizer.json"),
                           "'model.merges[" + std::to_string(index) + "]'",
                           "no-such-left"});
}

TEST(TokenizerLoadErrors, RejectsAddedTokenWithoutContent) {
  ScratchDir dir;
  std::string message = loadEditedPhi4(dir, [](json::Object &root) {
    root.getArray("added_tokens")->front().getAsObject()->erase("content");
  });
  expectMentions(message,
                 {dir.file("tokenizer.json"), "'added_tokens[0].content'"});
}

TEST(TokenizerLoadErrors, RejectsSingleWordAddedTokens) {
  ScratchDir dir;
  std::string message = loadEditedPhi4(dir, [](json::Object &root) {
    json::Object &token = *(*root.getArray("added_tokens"))[2].getAsObject();
    token["single_word"] = true;
  });
  expectMentions(message, {dir.file("tokenizer.json"),
                           "'added_tokens[2].single_word'", "<|assistant|>"});
}

TEST(TokenizerLoadErrors, RejectsDecoderThisLibraryDoesNotImplement) {
  ScratchDir dir;
  std::string message = loadEditedPhi4(dir, [](json::Object &root) {
    root["decoder"] = json::Object{{"type", "Metaspace"}};
  });
  expectMentions(message,
                 {dir.file("tokenizer.json"), "'decoder.type'", "Metaspace"});
}

TEST(TokenizerLoadErrors, RejectsPreTokenizerRegexPcreCannotCompile) {
  ScratchDir dir;
  std::string message = loadEditedPhi4(dir, [](json::Object &root) {
    json::Object &split =
        *(*root.getObject("pre_tokenizer")->getArray("pretokenizers"))[0]
             .getAsObject();
    split["pattern"] = json::Object{{"Regex", "(unclosed"}};
  });
  expectMentions(message, {dir.file("tokenizer.json"),
                           "'pre_tokenizer.pretokenizers[0].pattern'"});
}

TEST(TokenizerLoadErrors, RejectsSentencePiecePipelineWithoutTokenizerModel) {
  ScratchDir dir;
  dir.copyFrom("phi35-tiny", {"tokenizer.json", "tokenizer_config.json"});
  expectMentions(loadError(dir.path),
                 {dir.file("tokenizer.json"), dir.file("tokenizer.model"),
                  "byte_fallback"});
}

TEST(TokenizerLoadErrors, RejectsCorruptTokenizerModel) {
  ScratchDir dir;
  dir.copyFrom("phi35-tiny", {"tokenizer.json", "tokenizer_config.json"});
  writeFile(dir.file("tokenizer.model"), "this is not a protobuf");
  expectMentions(loadError(dir.path), {dir.file("tokenizer.model")});
}

TEST(TokenizerLoadErrors, RejectsTokenizerModelThatDisagreesWithVocab) {
  ScratchDir dir;
  dir.copyFrom("phi35-tiny", {"tokenizer.model", "tokenizer_config.json"});
  dir.copyEdited("phi35-tiny", "tokenizer.json", [](json::Object &root) {
    json::Object &vocab = *modelOf(root).getObject("vocab");
    json::Value id = *vocab.get("\xE2\x96\x81H"); // "▁H"
    vocab.erase("\xE2\x96\x81H");
    vocab["renamed"] = std::move(id);
  });
  expectMentions(loadError(dir.path),
                 {dir.file("tokenizer.model"), "piece 665", "renamed"});
}

TEST(TokenizerLoadErrors, RejectsMalformedTokenizerConfig) {
  ScratchDir dir;
  dir.copyFrom("phi4-mini-tiny", {"tokenizer.json"});
  writeFile(dir.file("tokenizer_config.json"), "{\"chat_template\": ");
  expectMentions(loadError(dir.path),
                 {dir.file("tokenizer_config.json"), "malformed JSON"});
}

TEST(TokenizerLoadErrors, RejectsMistypedTokenizerConfigFields) {
  ScratchDir dir;
  dir.copyFrom("phi4-mini-tiny", {"tokenizer.json"});
  dir.copyEdited("phi4-mini-tiny", "tokenizer_config.json",
                 [](json::Object &cfg) { cfg["chat_template"] = 5; });
  expectMentions(loadError(dir.path),
                 {dir.file("tokenizer_config.json"), "'chat_template'"});
  dir.copyEdited("phi4-mini-tiny", "tokenizer_config.json",
                 [](json::Object &cfg) {
                   (*cfg.getObject("added_tokens_decoder"))["x"] =
                       json::Object{{"content", "<|x|>"}};
                 });
  expectMentions(loadError(dir.path), {dir.file("tokenizer_config.json"),
                                       "'added_tokens_decoder.x'"});
}

TEST(TokenizerLoadErrors, LoadsWithoutTokenizerConfig) {
  ScratchDir dir;
  dir.copyFrom("phi4-mini-tiny", {"tokenizer.json"});
  auto tok = Tokenizer::load(dir.path);
  ASSERT_TRUE(static_cast<bool>(tok)) << llvm::toString(tok.takeError());
  EXPECT_EQ((*tok)->encode("Hello world"),
            (std::vector<int32_t>{39, 474, 349, 283, 265, 728}));
  auto rendered = (*tok)->applyChatTemplate({{"user", "hi"}}, true);
  ASSERT_FALSE(static_cast<bool>(rendered));
  expectMentions(llvm::toString(rendered.takeError()),
                 {dir.file("tokenizer_config.json"), "no chat template"});
}

} // namespace
