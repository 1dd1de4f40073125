//===- Utf8.h - UTF-8 helpers for the tokenizers ----------------*- C++ -*-===//
//
// The tokenizers work on UTF-8 bytes but must agree with Rust's and Python's
// view of the text: which code points are whitespace (added-token
// lstrip/rstrip), and how invalid byte sequences become U+FFFD when decoded
// ids do not form valid UTF-8. These helpers hold those rules in one place.
//
//===----------------------------------------------------------------------===//
#ifndef PHIQ_LIB_TOKENIZER_UTF8_H
#define PHIQ_LIB_TOKENIZER_UTF8_H

#include "llvm/ADT/StringRef.h"

#include <cstddef>
#include <cstdint>
#include <string>

namespace phiq::tok::utf8 {

/// Length of the valid UTF-8 sequence at `s[pos]`, or 0 if the bytes there
/// are not one. `pos` must be inside `s`.
size_t validLength(llvm::StringRef s, size_t pos);

/// True if all of `s` is valid UTF-8.
bool isValid(llvm::StringRef s);

/// `bytes` with every maximal invalid subsequence replaced by one U+FFFD,
/// the rule of Rust's String::from_utf8_lossy and Python's errors="replace".
std::string decodeLossy(llvm::StringRef bytes);

/// Decodes the code point starting at `s[pos]` (which must be valid UTF-8)
/// and advances `pos` past it.
uint32_t next(llvm::StringRef s, size_t &pos);

/// Decodes the code point ending just before `s[end]` (valid UTF-8) and
/// returns the offset where it starts.
size_t previousStart(llvm::StringRef s, size_t end);

/// Appends the UTF-8 encoding of `cp`.
void append(std::string &out, uint32_t cp);

/// Unicode White_Space, which is what Rust's char::is_whitespace tests.
bool isWhiteSpace(uint32_t cp);

} // namespace phiq::tok::utf8

#endif // PHIQ_LIB_TOKENIZER_UTF8_H
