//===- Utf8.cpp - UTF-8 helpers for the tokenizers --------------*- C++ -*-===//
//
// Validation follows the Unicode "maximal subpart" practice so that lossy
// decoding replaces exactly the bytes Rust's from_utf8_lossy replaces: a
// truncated multi-byte sequence becomes one U+FFFD, a stray byte one each.
//
//===----------------------------------------------------------------------===//
#include "Utf8.h"

using namespace phiq::tok;

namespace {
/// Length of the longest prefix of the sequence at `s[pos]` that is the
/// start of a valid encoding, and whether it is a complete code point.
struct Prefix {
  size_t length;
  bool complete;
};

Prefix validPrefix(llvm::StringRef s, size_t pos) {
  auto byte = [&](size_t i) -> unsigned {
    return static_cast<unsigned char>(s[i]);
  };
  unsigned lead = byte(pos);
  if (lead < 0x80)
    return {1, true};
  size_t need;
  unsigned lo = 0x80, hi = 0xBF; // Allowed range of the first continuation.
  if (lead >= 0xC2 && lead <= 0xDF) {
    need = 1;
  } else if (lead >= 0xE0 && lead <= 0xEF) {
    need = 2;
    if (lead == 0xE0)
      lo = 0xA0; // Overlong.
    else if (lead == 0xED)
      hi = 0x9F; // Surrogates.
  } else if (lead >= 0xF0 && lead <= 0xF4) {
    need = 3;
    if (lead == 0xF0)
      lo = 0x90; // Overlong.
    else if (lead == 0xF4)
      hi = 0x8F; // Past U+10FFFF.
  } else {
    return {1, false};
  }
  size_t len = 1;
  for (size_t k = 0; k < need; ++k) {
    if (pos + len >= s.size())
      return {len, false};
    unsigned c = byte(pos + len);
    unsigned kLo = k == 0 ? lo : 0x80, kHi = k == 0 ? hi : 0xBF;
    if (c < kLo || c > kHi)
      return {len, false};
    ++len;
  }
  return {len, true};
}
} // namespace

size_t utf8::validLength(llvm::StringRef s, size_t pos) {
  Prefix p = validPrefix(s, pos);
  return p.complete ? p.length : 0;
}

bool utf8::isValid(llvm::StringRef s) {
  for (size_t pos = 0; pos < s.size();) {
    // ASCII runs are the common case; skip them without the full check.
    if (static_cast<unsigned char>(s[pos]) < 0x80) {
      ++pos;
      continue;
    }
    size_t len = validLength(s, pos);
    if (len == 0)
      return false;
    pos += len;
  }
  return true;
}

std::string utf8::decodeLossy(llvm::StringRef bytes) {
  std::string out;
  out.reserve(bytes.size());
  for (size_t pos = 0; pos < bytes.size();) {
    Prefix p = validPrefix(bytes, pos);
    if (p.complete)
      out.append(bytes.data() + pos, p.length);
    else
      out.append("\xEF\xBF\xBD");
    pos += p.length;
  }
  return out;
}

uint32_t utf8::next(llvm::StringRef s, size_t &pos) {
  unsigned lead = static_cast<unsigned char>(s[pos]);
  size_t extra = lead < 0x80 ? 0 : lead < 0xE0 ? 1 : lead < 0xF0 ? 2 : 3;
  uint32_t cp = extra == 0   ? lead
                : extra == 1 ? lead & 0x1F
                : extra == 2 ? lead & 0x0F
                             : lead & 0x07;
  for (size_t k = 1; k <= extra && pos + k < s.size(); ++k)
    cp = (cp << 6) | (static_cast<unsigned char>(s[pos + k]) & 0x3F);
  pos += extra + 1;
  return cp;
}

size_t utf8::previousStart(llvm::StringRef s, size_t end) {
  size_t start = end - 1;
  while (start > 0 && (static_cast<unsigned char>(s[start]) & 0xC0) == 0x80)
    --start;
  return start;
}

void utf8::append(std::string &out, uint32_t cp) {
  if (cp < 0x80) {
    out.push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

bool utf8::isWhiteSpace(uint32_t cp) {
  // The White_Space property list of the Unicode Character Database.
  if (cp <= 0x20)
    return cp == 0x20 || (cp >= 0x09 && cp <= 0x0D);
  if (cp < 0x85)
    return false;
  return cp == 0x85 || cp == 0xA0 || cp == 0x1680 ||
         (cp >= 0x2000 && cp <= 0x200A) || cp == 0x2028 || cp == 0x2029 ||
         cp == 0x202F || cp == 0x205F || cp == 0x3000;
}
