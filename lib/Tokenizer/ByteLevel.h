//===- ByteLevel.h - GPT-2 byte <-> character alphabet ----------*- C++ -*-===//
//
// Byte-level BPE vocabularies spell every byte as a printable character
// (GPT-2's bytes_to_unicode: printable Latin-1 bytes stand for themselves,
// the other 68 bytes map to U+0100 and up, in byte order). The encoder uses
// the forward map, the ByteLevel decoder the reverse one.
//
//===----------------------------------------------------------------------===//
#ifndef PHIQ_LIB_TOKENIZER_BYTELEVEL_H
#define PHIQ_LIB_TOKENIZER_BYTELEVEL_H

#include <array>
#include <cstdint>
#include <optional>

namespace phiq::tok::bytelevel {

/// The code point that stands for `byte`.
uint32_t charOf(uint8_t byte);

/// The byte a code point stands for, if it is one of the 256.
std::optional<uint8_t> byteOf(uint32_t cp);

} // namespace phiq::tok::bytelevel

#endif // PHIQ_LIB_TOKENIZER_BYTELEVEL_H
