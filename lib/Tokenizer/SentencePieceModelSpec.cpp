//===- SentencePieceModelSpec.cpp - tokenizer.model settings ----*- C++ -*-===//
//
// A minimal protobuf wire-format walk: ModelProto fields 1 (pieces:
// piece = 1, type = 3), 2 (TrainerSpec: model_type = 3,
// treat_whitespace_as_suffix = 24, byte_fallback = 35) and 3
// (NormalizerSpec: name = 1, precompiled_charsmap = 2, add_dummy_prefix = 3,
// remove_extra_whitespaces = 4, escape_whitespaces = 5), per
// sentencepiece_model.proto. Unknown fields are skipped.
//
//===----------------------------------------------------------------------===//
#include "SentencePieceModelSpec.h"
#include "JsonFile.h"

using namespace phiq::tok;
using llvm::StringRef;

namespace {
struct Field {
  uint32_t number = 0;
  uint64_t varint = 0; // Wire types 0, 1 and 5.
  StringRef bytes;     // Wire type 2.
};

bool readVarint(StringRef &in, uint64_t &value) {
  value = 0;
  for (unsigned shift = 0; shift < 64; shift += 7) {
    if (in.empty())
      return false;
    uint8_t b = static_cast<uint8_t>(in.front());
    in = in.drop_front();
    value |= static_cast<uint64_t>(b & 0x7F) << shift;
    if (!(b & 0x80))
      return true;
  }
  return false;
}

/// Reads the next field of a message; false at malformed input.
bool readField(StringRef &in, Field &field) {
  uint64_t key;
  if (!readVarint(in, key))
    return false;
  field.number = static_cast<uint32_t>(key >> 3);
  field.bytes = StringRef();
  switch (key & 7) {
  case 0:
    return readVarint(in, field.varint);
  case 1:
  case 5: {
    size_t n = (key & 7) == 1 ? 8 : 4;
    if (in.size() < n)
      return false;
    field.varint = 0;
    for (size_t i = 0; i < n; ++i)
      field.varint |= static_cast<uint64_t>(static_cast<uint8_t>(in[i]))
                      << (8 * i);
    in = in.drop_front(n);
    return true;
  }
  case 2: {
    uint64_t length;
    if (!readVarint(in, length) || length > in.size())
      return false;
    field.bytes = in.take_front(length);
    in = in.drop_front(length);
    return true;
  }
  default:
    return false;
  }
}

/// Calls `visit` for each field of `message`; false at malformed input.
template <typename Visit> bool forEachField(StringRef message, Visit visit) {
  Field field;
  while (!message.empty()) {
    if (!readField(message, field))
      return false;
    visit(field);
  }
  return true;
}
} // namespace

llvm::Expected<SentencePieceModelSpec>
SentencePieceModelSpec::parse(StringRef bytes, StringRef file) {
  SentencePieceModelSpec spec;
  bool nestedOk = true;
  bool ok = forEachField(bytes, [&](const Field &f) {
    if (f.number == 1) {
      std::string piece;
      uint64_t type = 1; // NORMAL
      nestedOk &= forEachField(f.bytes, [&](const Field &p) {
        if (p.number == 1)
          piece = p.bytes.str();
        else if (p.number == 3)
          type = p.varint;
      });
      if (type == 4) // USER_DEFINED
        spec.userDefinedPieces.push_back(piece);
    } else if (f.number == 2) {
      nestedOk &= forEachField(f.bytes, [&](const Field &t) {
        if (t.number == 3)
          spec.modelType = static_cast<int>(t.varint);
        else if (t.number == 24)
          spec.treatWhitespaceAsSuffix = t.varint != 0;
        else if (t.number == 35)
          spec.byteFallback = t.varint != 0;
      });
    } else if (f.number == 3) {
      nestedOk &= forEachField(f.bytes, [&](const Field &n) {
        if (n.number == 1)
          spec.normalizerName = n.bytes.str();
        else if (n.number == 2)
          spec.hasCharsMap = !n.bytes.empty();
        else if (n.number == 3)
          spec.addDummyPrefix = n.varint != 0;
        else if (n.number == 4)
          spec.removeExtraWhitespaces = n.varint != 0;
        else if (n.number == 5)
          spec.escapeWhitespaces = n.varint != 0;
      });
    }
  });
  if (!ok || !nestedOk)
    return makeError(file + ": not a serialized SentencePiece ModelProto");
  return spec;
}
