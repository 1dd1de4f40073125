//===- ChatTemplateTest.cpp - Chat template tests ---------------*- C++ -*-===//
//
// The chat templates are recognised, not interpreted, so these tests pin
// both halves: the rendered prompts (expected strings produced by Jinja2 with
// transformers' settings) and which template texts count as known: layout
// and quoting changes that Jinja ignores are accepted, anything that would
// change the output is rejected with an error naming the file.
//
//===----------------------------------------------------------------------===//
#include "TestUtil.h"

using namespace phiq::tok;
using namespace phiq::tok::test;
namespace json = llvm::json;

namespace {

/// Phi-3.5's template laid out over lines with `-` whitespace control and
/// double quotes; Jinja (trim_blocks, lstrip_blocks) renders it identically.
const char kReformattedPhi35[] = R"jinja({% for message in messages %}
    {% if message["role"] == "system" and message["content"] %}
        {{- "<|system|>\n" + message["content"] + "<|end|>\n" -}}
    {% elif message["role"] == "user" %}
        {{- "<|user|>\n" + message["content"] + "<|end|>\n" -}}
    {% elif message["role"] == "assistant" %}
        {{- "<|assistant|>\n" + message["content"] + "<|end|>\n" -}}
    {% endif %}
{% endfor %}
{% if add_generation_prompt %}
    {{- "<|assistant|>\n" -}}
{% else %}
    {{- eos_token -}}
{% endif %}
)jinja";

std::string originalTemplate(llvm::StringRef model) {
  json::Value v = readJson(modelDir(model) + "/tokenizer_config.json");
  return v.getAsObject()->getString("chat_template")->str();
}

std::unique_ptr<Tokenizer> loadOrFail(llvm::StringRef dir) {
  auto tok = Tokenizer::load(dir);
  if (!tok) {
    ADD_FAILURE() << llvm::toString(tok.takeError());
    return nullptr;
  }
  return std::move(*tok);
}

/// A copy of phi35-tiny whose tokenizer_config.json has `chatTemplate`
/// (no chat_template field when std::nullopt).
void writePhi35WithTemplate(const ScratchDir &dir,
                            std::optional<std::string> chatTemplate) {
  dir.copyFrom("phi35-tiny", {"tokenizer.json", "tokenizer.model"});
  dir.copyEdited("phi35-tiny", "tokenizer_config.json", [&](json::Object &cfg) {
    if (chatTemplate)
      cfg["chat_template"] = *chatTemplate;
    else
      cfg.erase("chat_template");
  });
}

const std::vector<ChatMessage> kConversation = {{"system", "S"},
                                                {"user", "U"},
                                                {"assistant", "A"},
                                                {"tool", "T"},
                                                {"system", ""}};

TEST(ChatTemplate, RendersPhi35ConversationWithAndWithoutGenerationPrompt) {
  auto tok = loadOrFail(modelDir("phi35-tiny"));
  ASSERT_TRUE(tok);
  // Unknown roles and empty system messages render nothing.
  const std::string body =
      "<|system|>\nS<|end|>\n<|user|>\nU<|end|>\n<|assistant|>\nA<|end|>\n";
  auto withPrompt = tok->applyChatTemplate(kConversation, true);
  ASSERT_TRUE(static_cast<bool>(withPrompt))
      << llvm::toString(withPrompt.takeError());
  EXPECT_EQ(*withPrompt, body + "<|assistant|>\n");
  auto withEos = tok->applyChatTemplate(kConversation, false);
  ASSERT_TRUE(static_cast<bool>(withEos))
      << llvm::toString(withEos.takeError());
  EXPECT_EQ(*withEos, body + "<|endoftext|>");
}

TEST(ChatTemplate, RendersPhi4MiniToolsOnlyForSystemMessages) {
  auto tok = loadOrFail(modelDir("phi4-mini-tiny"));
  ASSERT_TRUE(tok);
  std::vector<ChatMessage> messages = {{"system", "S", R"([{"name": "f"}])"},
                                       {"user", "U", "X"},
                                       {"assistant", "A"},
                                       {"system", ""}};
  const std::string body = "<|system|>S<|tool|>[{\"name\": \"f\"}]<|/tool|>"
                           "<|end|><|user|>U<|end|><|assistant|>A<|end|>"
                           "<|system|><|end|>";
  auto withPrompt = tok->applyChatTemplate(messages, true);
  ASSERT_TRUE(static_cast<bool>(withPrompt))
      << llvm::toString(withPrompt.takeError());
  EXPECT_EQ(*withPrompt, body + "<|assistant|>");
  auto withEos = tok->applyChatTemplate(messages, false);
  ASSERT_TRUE(static_cast<bool>(withEos))
      << llvm::toString(withEos.takeError());
  EXPECT_EQ(*withEos, body + "<|endoftext|>");
}

TEST(ChatTemplate, RecognisesReformattedPhi35Template) {
  ScratchDir dir;
  writePhi35WithTemplate(dir, std::string(kReformattedPhi35));
  auto tok = loadOrFail(dir.path);
  auto reference = loadOrFail(modelDir("phi35-tiny"));
  ASSERT_TRUE(tok && reference);
  for (bool prompt : {true, false}) {
    auto a = tok->applyChatTemplate(kConversation, prompt);
    auto b = reference->applyChatTemplate(kConversation, prompt);
    ASSERT_TRUE(a && b);
    EXPECT_EQ(*a, *b);
  }
}

TEST(ChatTemplate, RecognisesPhi4MiniTemplateWithDoubleQuotes) {
  ScratchDir dir;
  dir.copyFrom("phi4-mini-tiny", {"tokenizer.json"});
  std::string text = originalTemplate("phi4-mini-tiny");
  std::replace(text.begin(), text.end(), '\'', '"');
  dir.copyEdited("phi4-mini-tiny", "tokenizer_config.json",
                 [&](json::Object &cfg) { cfg["chat_template"] = text; });
  auto tok = loadOrFail(dir.path);
  ASSERT_TRUE(tok);
  auto rendered = tok->applyChatTemplate({{"user", "hi"}}, true);
  ASSERT_TRUE(static_cast<bool>(rendered))
      << llvm::toString(rendered.takeError());
  EXPECT_EQ(*rendered, "<|user|>hi<|end|><|assistant|>");
}

TEST(ChatTemplate, ReadsChatTemplateJinjaWhenConfigHasNone) {
  ScratchDir dir;
  writePhi35WithTemplate(dir, std::nullopt);
  writeFile(dir.file("chat_template.jinja"), originalTemplate("phi35-tiny"));
  auto tok = loadOrFail(dir.path);
  ASSERT_TRUE(tok);
  auto rendered = tok->applyChatTemplate({{"user", "hi"}}, true);
  ASSERT_TRUE(static_cast<bool>(rendered))
      << llvm::toString(rendered.takeError());
  EXPECT_EQ(*rendered, "<|user|>\nhi<|end|>\n<|assistant|>\n");
}

TEST(ChatTemplate, RejectsTemplatesThatWouldRenderDifferently) {
  std::string original = originalTemplate("phi35-tiny");
  auto replaceFirst = [&](llvm::StringRef from, llvm::StringRef to) {
    std::string text = original;
    size_t at = text.find(from.str());
    EXPECT_NE(at, std::string::npos) << from.str();
    return at == std::string::npos ? text
                                   : text.replace(at, from.size(), to.str());
  };
  std::vector<std::string> variants = {
      // The user turn without the newline after <|end|>.
      replaceFirst("'<|user|>\n' + message['content'] + '<|end|>\n'",
                   "'<|user|>\n' + message['content'] + '<|end|>'"),
      // Text between tags that Jinja would print.
      replaceFirst("{% endfor %}", "{% endfor %}X"),
      // A Phi-3.5 template that also prints bos_token.
      "{{ bos_token }}" + original,
      // Not a template at all: an unterminated tag.
      "{% for message in messages",
  };
  for (const std::string &text : variants) {
    ScratchDir dir;
    writePhi35WithTemplate(dir, text);
    auto tok = loadOrFail(dir.path);
    ASSERT_TRUE(tok);
    // Loading and encoding still work; rendering names the file.
    EXPECT_FALSE(tok->encode("hi").empty());
    auto rendered = tok->applyChatTemplate({{"user", "hi"}}, true);
    ASSERT_FALSE(static_cast<bool>(rendered)) << text;
    std::string message = llvm::toString(rendered.takeError());
    EXPECT_NE(message.find(dir.file("tokenizer_config.json")),
              std::string::npos)
        << message;
    EXPECT_NE(message.find("chat_template"), std::string::npos) << message;
  }
}

TEST(ChatTemplate, ReportsMissingTemplateNamingTheConfig) {
  ScratchDir dir;
  writePhi35WithTemplate(dir, std::nullopt);
  auto tok = loadOrFail(dir.path);
  ASSERT_TRUE(tok);
  auto rendered = tok->applyChatTemplate({{"user", "hi"}}, true);
  ASSERT_FALSE(static_cast<bool>(rendered));
  std::string message = llvm::toString(rendered.takeError());
  EXPECT_NE(message.find(dir.file("tokenizer_config.json")), std::string::npos)
      << message;
}

} // namespace
