//===- ChatTemplate.h - Phi chat templates without Jinja --------*- C++ -*-===//
//
// Checkpoints ship their chat format as a Jinja template. Rather than embed a
// Jinja engine, PhiQ recognises the templates Phi models use (after
// normalising the whitespace and quoting that do not change their output)
// and renders them in C++. An unrecognised template is reported, never
// guessed at.
//
//===----------------------------------------------------------------------===//
#ifndef PHIQ_LIB_TOKENIZER_CHATTEMPLATE_H
#define PHIQ_LIB_TOKENIZER_CHATTEMPLATE_H

#include "phiq/Tokenizer/Tokenizer.h"

#include "llvm/ADT/ArrayRef.h"
#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"

#include <optional>
#include <string>

namespace phiq::tok {

class ChatTemplate {
public:
  enum class Style {
    /// Phi-3/3.5: "<|role|>\n" + content + "<|end|>\n" for system (when not
    /// empty), user and assistant; generation prompt "<|assistant|>\n".
    Phi3,
    /// Phi-4-mini: "<|role|>" + content + "<|end|>" for every role, tools of
    /// a system message in <|tool|>...<|/tool|>; prompt "<|assistant|>".
    Phi4Mini,
  };

  /// A folder without a chat template; rendering fails naming `file`.
  static ChatTemplate missing(std::string file);

  /// Recognises the Jinja `source` read from `file`. `eosToken` is what the
  /// template's `eos_token` renders as.
  static ChatTemplate recognise(llvm::StringRef source, std::string file,
                                std::optional<std::string> eosToken);

  std::optional<Style> style() const { return known; }

  llvm::Expected<std::string> render(llvm::ArrayRef<ChatMessage> messages,
                                     bool addGenerationPrompt) const;

private:
  std::optional<Style> known;
  std::string file;
  std::string problem; // Why rendering fails when `known` is unset.
  std::optional<std::string> eosToken;
};

} // namespace phiq::tok

#endif // PHIQ_LIB_TOKENIZER_CHATTEMPLATE_H
