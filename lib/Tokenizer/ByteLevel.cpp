//===- ByteLevel.cpp - GPT-2 byte <-> character alphabet --------*- C++ -*-===//
//
// The table is built once from the rule rather than spelled out: bytes
// '!'..'~', 0xA1..0xAC and 0xAE..0xFF keep their code point; the rest get
// 0x100, 0x101, ... in increasing byte order.
//
//===----------------------------------------------------------------------===//
#include "ByteLevel.h"

using namespace phiq::tok;

namespace {
struct Tables {
  std::array<uint32_t, 256> toChar;
  std::array<int16_t, 0x200> toByte; // Every mapped code point is < 0x144.

  Tables() {
    toByte.fill(-1);
    uint32_t nextExtra = 0x100;
    for (unsigned b = 0; b < 256; ++b) {
      bool keeps = (b >= 0x21 && b <= 0x7E) || (b >= 0xA1 && b <= 0xAC) ||
                   (b >= 0xAE && b <= 0xFF);
      toChar[b] = keeps ? b : nextExtra++;
      toByte[toChar[b]] = static_cast<int16_t>(b);
    }
  }
};

const Tables &tables() {
  static const Tables t;
  return t;
}
} // namespace

uint32_t bytelevel::charOf(uint8_t byte) { return tables().toChar[byte]; }

std::optional<uint8_t> bytelevel::byteOf(uint32_t cp) {
  if (cp >= tables().toByte.size() || tables().toByte[cp] < 0)
    return std::nullopt;
  return static_cast<uint8_t>(tables().toByte[cp]);
}
