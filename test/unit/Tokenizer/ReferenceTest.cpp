//===- ReferenceTest.cpp - Tests against transformers -----------*- C++ -*-===//
//
// Each embedded model folder records what transformers 5 produced with its
// tokenizer: ids, token spellings and decodes for tricky strings
// (tokenize.json), chat prompts and generations (generate.json) and the
// token windows of the eval/calib corpus (reference.json + *.i32). These
// tests demand the same results, bit for bit, from both tokenizer kinds.
//
//===----------------------------------------------------------------------===//
#include "TestUtil.h"

#include <cstring>

using namespace phiq::tok;
using namespace phiq::tok::test;
namespace json = llvm::json;

namespace {

class TokenizerReference : public ::testing::TestWithParam<const char *> {
protected:
  void SetUp() override {
    dir = modelDir(GetParam());
    auto loaded = Tokenizer::load(dir);
    ASSERT_TRUE(static_cast<bool>(loaded))
        << llvm::toString(loaded.takeError());
    tok = std::move(*loaded);
  }
  std::string referenceFile(llvm::StringRef name) const {
    return dir + "/reference/" + name.str();
  }
  /// The "cases" of tokenize.json.
  json::Array cases() const {
    json::Value v = readJson(referenceFile("tokenize.json"));
    const json::Array *a = v.getAsObject()->getArray("cases");
    EXPECT_TRUE(a && !a->empty());
    return a ? *a : json::Array();
  }

  std::string dir;
  std::unique_ptr<Tokenizer> tok;
};

TEST_P(TokenizerReference, ReproducesReferenceIds) {
  for (const json::Value &c : cases()) {
    const json::Object &o = *c.getAsObject();
    std::string text = o.getString("text")->str();
    EXPECT_EQ(tok->encode(text), idsOf(o.get("ids"))) << "text: " << text;
    // add_special_tokens=True adds nothing for these Phi tokenizers.
    EXPECT_EQ(tok->encode(text), idsOf(o.get("ids_add_special_tokens")))
        << "text: " << text;
  }
}

TEST_P(TokenizerReference, ReproducesReferenceTokenSpellings) {
  for (const json::Value &c : cases()) {
    const json::Object &o = *c.getAsObject();
    std::vector<int32_t> ids = idsOf(o.get("ids"));
    const json::Array &tokens = *o.getArray("tokens");
    ASSERT_EQ(tokens.size(), ids.size());
    for (size_t i = 0; i < ids.size(); ++i) {
      llvm::StringRef spelling = *tokens[i].getAsString();
      EXPECT_EQ(tok->idToToken(ids[i]), std::optional(spelling));
      EXPECT_EQ(tok->tokenToId(spelling), std::optional(ids[i]));
    }
  }
}

TEST_P(TokenizerReference, ReproducesReferenceDecodes) {
  for (const json::Value &c : cases()) {
    const json::Object &o = *c.getAsObject();
    std::vector<int32_t> ids = idsOf(o.get("ids"));
    EXPECT_EQ(tok->decode(ids), o.getString("decoded")->str());
    EXPECT_EQ(tok->decode(ids, /*skipSpecial=*/true),
              o.getString("decoded_skip_special_tokens")->str());
  }
}

TEST_P(TokenizerReference, SizeEqualsTransformersLen) {
  json::Value v = readJson(referenceFile("tokenize.json"));
  EXPECT_EQ(tok->size(), *v.getAsObject()->getInteger("len"));
}

TEST_P(TokenizerReference, ReproducesReferencePromptsAndGenerations) {
  json::Value v = readJson(referenceFile("generate.json"));
  const json::Array &gens = *v.getAsObject()->getArray("generations");
  ASSERT_FALSE(gens.empty());
  for (const json::Value &g : gens) {
    const json::Object &o = *g.getAsObject();
    std::string promptText = o.getString("prompt_text")->str();
    if (*o.getString("kind") == "chat") {
      std::vector<ChatMessage> messages;
      for (const json::Value &m : *o.getArray("messages"))
        messages.push_back({m.getAsObject()->getString("role")->str(),
                            m.getAsObject()->getString("content")->str()});
      auto rendered = tok->applyChatTemplate(messages, true);
      ASSERT_TRUE(static_cast<bool>(rendered))
          << llvm::toString(rendered.takeError());
      EXPECT_EQ(*rendered, promptText);
    } else {
      EXPECT_EQ(o.getString("text")->str(), promptText);
    }
    std::vector<int32_t> promptIds = idsOf(o.get("prompt_ids"));
    std::vector<int32_t> newIds = idsOf(o.get("new_ids"));
    EXPECT_EQ(tok->encode(promptText), promptIds);
    EXPECT_EQ(tok->decode(newIds), o.getString("new_text")->str());
    std::vector<int32_t> all = promptIds;
    all.insert(all.end(), newIds.begin(), newIds.end());
    EXPECT_EQ(tok->decode(all), o.getString("full_text")->str());
  }
}

/// The documents of a corpus split the way make_reference.py reads them:
/// separated by "\f\n", whitespace-only ones dropped.
std::vector<std::string> readDocuments(llvm::StringRef path) {
  std::string all = readFile(path);
  std::vector<std::string> docs;
  llvm::StringRef rest = all;
  while (!rest.empty()) {
    auto [doc, tail] = rest.split("\f\n");
    if (doc.find_first_not_of(" \t\n\r\f\v") != llvm::StringRef::npos)
      docs.push_back(doc.str());
    rest = tail;
  }
  return docs;
}

TEST_P(TokenizerReference, ReproducesEvalAndCalibTokenWindows) {
  std::string corpus = PHIQ_CORPUS_DIR;
  if (!llvm::sys::fs::exists(corpus + "/eval.txt"))
    GTEST_SKIP() << "no corpus at " << corpus;
  json::Value ref = readJson(referenceFile("reference.json"));
  const json::Object &r = *ref.getAsObject();
  int32_t eot = *tok->tokenToId("<|endoftext|>");
  for (const char *split : {"eval", "calib"}) {
    // Each document's ids followed by <|endoftext|>, concatenated.
    std::vector<int32_t> stream;
    for (const std::string &doc :
         readDocuments(corpus + "/" + split + ".txt")) {
      std::vector<int32_t> ids = tok->encode(doc);
      stream.insert(stream.end(), ids.begin(), ids.end());
      stream.push_back(eot);
    }
    EXPECT_EQ(static_cast<int64_t>(stream.size()),
              *r.getInteger(std::string(split) + "_stream_tokens"));

    std::string windows =
        readFile(referenceFile(std::string(split) + "_tokens.i32"));
    const json::Array &starts =
        *r.getArray(std::string(split) + "_window_starts");
    const size_t length = 256;
    ASSERT_EQ(windows.size(), starts.size() * length * sizeof(int32_t));
    for (size_t w = 0; w < starts.size(); ++w) {
      size_t start = static_cast<size_t>(*starts[w].getAsInteger());
      ASSERT_LE(start + length, stream.size());
      std::vector<int32_t> expected(length);
      std::memcpy(expected.data(), windows.data() + w * length * 4, length * 4);
      std::vector<int32_t> actual(stream.begin() + start,
                                  stream.begin() + start + length);
      EXPECT_EQ(actual, expected) << split << " window " << w;
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Models, TokenizerReference,
                         ::testing::Values("phi35-tiny", "phi4-mini-tiny"),
                         [](const auto &info) {
                           std::string name = info.param;
                           for (char &c : name)
                             if (!std::isalnum(static_cast<unsigned char>(c)))
                               c = '_';
                           return name;
                         });

} // namespace
