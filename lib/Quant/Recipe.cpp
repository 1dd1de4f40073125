//===- Recipe.cpp - llama.cpp's quantization mixtures -----------*- C++ -*-===//
//
// The rules of llama-quantize's per-tensor type choice for the file types
// PhiQ offers, written from its documented behaviour: the output tensor
// (and a tied embedding) gets Q6_K unless it cannot, the value projection and
// some ffn_down layers get more bits in the _M/_L mixtures
// (use_more_bits: the first and last eighth of the layers and every third
// in between), and a row length a K-quant cannot take falls back to a
// 32-element format.
//
//===----------------------------------------------------------------------===//
#include "phiq/Quant/Recipe.h"

#include "llvm/ADT/StringSwitch.h"

using namespace phiq::quant;
using llvm::StringRef;

namespace {

struct FileTypeInfo {
  FileType type;
  const char *name;
  BlockFormat base;
};

const FileTypeInfo fileTypes[] = {
    {FileType::F32, "F32", BlockFormat::F32},
    {FileType::F16, "F16", BlockFormat::F16},
    {FileType::BF16, "BF16", BlockFormat::BF16},
    {FileType::Q8_0, "Q8_0", BlockFormat::Q8_0},
    {FileType::Q4_0, "Q4_0", BlockFormat::Q4_0},
    {FileType::Q4_1, "Q4_1", BlockFormat::Q4_1},
    {FileType::Q5_0, "Q5_0", BlockFormat::Q5_0},
    {FileType::Q5_1, "Q5_1", BlockFormat::Q5_1},
    {FileType::Q2_K, "Q2_K", BlockFormat::Q2_K},
    {FileType::Q3_K_S, "Q3_K_S", BlockFormat::Q3_K},
    {FileType::Q3_K_M, "Q3_K_M", BlockFormat::Q3_K},
    {FileType::Q3_K_L, "Q3_K_L", BlockFormat::Q3_K},
    {FileType::Q4_K_S, "Q4_K_S", BlockFormat::Q4_K},
    {FileType::Q4_K_M, "Q4_K_M", BlockFormat::Q4_K},
    {FileType::Q5_K_S, "Q5_K_S", BlockFormat::Q5_K},
    {FileType::Q5_K_M, "Q5_K_M", BlockFormat::Q5_K},
    {FileType::Q6_K, "Q6_K", BlockFormat::Q6_K},
    {FileType::IQ4_NL, "IQ4_NL", BlockFormat::IQ4_NL},
};

/// llama-quantize gives these layers more bits in the _M mixtures.
bool useMoreBits(int layer, int layers) {
  return layer < layers / 8 || layer >= 7 * layers / 8 ||
         (layer - layers / 8) % 3 == 2;
}

bool isFloat(BlockFormat f) {
  return f == BlockFormat::F32 || f == BlockFormat::F16 ||
         f == BlockFormat::BF16;
}

} // namespace

std::optional<FileType> phiq::quant::parseFileType(StringRef name) {
  for (const FileTypeInfo &info : fileTypes)
    if (name.equals_insensitive(info.name))
      return info.type;
  return std::nullopt;
}

StringRef phiq::quant::fileTypeName(FileType type) {
  for (const FileTypeInfo &info : fileTypes)
    if (info.type == type)
      return info.name;
  return "?";
}

BlockFormat phiq::quant::baseFormat(FileType type) {
  for (const FileTypeInfo &info : fileTypes)
    if (info.type == type)
      return info.base;
  return BlockFormat::F32;
}

llvm::Expected<Override> phiq::quant::parseOverride(StringRef text) {
  auto [pattern, name] = text.rsplit('=');
  if (pattern.empty() || name.empty() || name.size() == text.size())
    return llvm::createStringError("tensor type override '" + text +
                                   "' must read PATTERN=TYPE, e.g. "
                                   "attn_v=Q8_0");
  std::optional<BlockFormat> format = parseBlockFormat(name);
  if (!format)
    return llvm::createStringError("tensor type override '" + text +
                                   "': unknown type '" + name + "'");
  std::string error;
  if (!llvm::Regex(pattern).isValid(error))
    return llvm::createStringError("tensor type override '" + text +
                                   "': bad pattern: " + error);
  return Override{pattern.str(), *format};
}

BlockFormat phiq::quant::fallbackFormat(BlockFormat format,
                                        int64_t rowLength) {
  BlockFormat fallback = format;
  switch (format) {
  case BlockFormat::Q2_K:
  case BlockFormat::Q3_K: fallback = BlockFormat::Q4_0; break;
  case BlockFormat::Q4_K: fallback = BlockFormat::Q5_0; break;
  case BlockFormat::Q5_K: fallback = BlockFormat::Q5_1; break;
  case BlockFormat::Q6_K: fallback = BlockFormat::Q8_0; break;
  default: break;
  }
  if (rowLength % formatInfo(fallback).blockElements != 0)
    fallback = BlockFormat::F16;
  return fallback;
}

RecipeState::RecipeState(FileType type, bool pure, ModelShape shape,
                         std::vector<Override> userOverrides)
    : type(type), pure(pure), shape(shape) {
  for (Override &o : userOverrides)
    overrides.push_back(
        {o.pattern, std::make_unique<llvm::Regex>(o.pattern), o.format});
}

std::optional<BlockFormat> RecipeState::overrideFor(const TensorRole &role) {
  for (CompiledOverride &o : overrides)
    if (o.regex->match(role.ggufName) || o.regex->match(role.checkpointName)) {
      o.matched = true;
      return o.format;
    }
  return std::nullopt;
}

std::vector<std::string> RecipeState::unmatchedOverrides() const {
  std::vector<std::string> unmatched;
  for (const CompiledOverride &o : overrides)
    if (!o.matched)
      unmatched.push_back(o.pattern);
  return unmatched;
}

BlockFormat RecipeState::mixture(const TensorRole &role, BlockFormat base) {
  using C = TensorCategory;
  using F = FileType;
  const int layers = std::max(1, shape.numLayers);
  const int layer = std::max(0, role.layer);
  const bool eightExperts = shape.numExperts == 8;
  if (role.category == C::Output ||
      (shape.tiedEmbeddings && role.category == C::TokenEmbedding)) {
    if (role.rowLength % formatInfo(base).blockElements != 0)
      return BlockFormat::Q8_0;
    return base == BlockFormat::Q8_0 ? base : BlockFormat::Q6_K;
  }
  switch (role.category) {
  case C::AttentionV:
  case C::AttentionQKV: {
    BlockFormat f = base;
    int i = attentionV++;
    if (type == F::Q2_K)
      f = shape.gqa >= 4 ? BlockFormat::Q4_K : BlockFormat::Q3_K;
    else if (type == F::Q3_K_M)
      f = i < 2 ? BlockFormat::Q5_K : BlockFormat::Q4_K;
    else if (type == F::Q3_K_L)
      f = BlockFormat::Q5_K;
    else if (type == F::IQ4_NL && shape.gqa >= 4)
      f = BlockFormat::Q5_K;
    else if ((type == F::Q4_K_M || type == F::Q5_K_M) &&
             useMoreBits(i, layers))
      f = BlockFormat::Q6_K;
    else if (type == F::Q4_K_S && i < 4)
      f = BlockFormat::Q5_K;
    if (eightExperts)
      f = BlockFormat::Q8_0;
    return f;
  }
  case C::AttentionK:
    return eightExperts ? BlockFormat::Q8_0 : base;
  case C::FfnDown:
    switch (type) {
    case F::Q2_K: return BlockFormat::Q3_K;
    case F::Q3_K_M:
      return layer < layers / 16 ? BlockFormat::Q5_K : BlockFormat::Q4_K;
    case F::Q3_K_L: return BlockFormat::Q5_K;
    case F::Q4_K_M:
      return useMoreBits(layer, layers) ? BlockFormat::Q6_K : base;
    case F::IQ4_NL:
      return layer < layers / 8 ? BlockFormat::Q5_K : base;
    case F::Q5_K_M:
      return useMoreBits(layer, layers) ? BlockFormat::Q6_K : base;
    case F::Q4_K_S:
      return layer < layers / 8 ? BlockFormat::Q5_K : base;
    default: return base;
    }
  case C::AttentionOutput:
    if (eightExperts) {
      switch (type) {
      case F::Q2_K: case F::Q3_K_S: case F::Q3_K_M: case F::IQ4_NL:
      case F::Q4_K_S: case F::Q4_K_M:
        return BlockFormat::Q5_K;
      default: return base;
      }
    }
    if (type == F::Q2_K) return BlockFormat::Q3_K;
    if (type == F::Q3_K_M) return BlockFormat::Q4_K;
    if (type == F::Q3_K_L) return BlockFormat::Q5_K;
    return base;
  default:
    return base;
  }
}

std::optional<Decision> RecipeState::decide(const TensorRole &role) {
  if (role.category == TensorCategory::Keep)
    return std::nullopt;
  BlockFormat base = baseFormat(type);
  BlockFormat chosen = base;
  if (!isFloat(base)) {
    std::optional<BlockFormat> manual = overrideFor(role);
    if (manual)
      chosen = *manual;
    else if (!pure)
      chosen = mixture(role, base);
  } else if (std::optional<BlockFormat> manual = overrideFor(role)) {
    // Float file types still honour explicit overrides.
    chosen = *manual;
  }
  Decision decision{chosen, std::nullopt};
  if (role.rowLength % formatInfo(chosen).blockElements != 0) {
    decision.fellBackFrom = chosen;
    decision.format = fallbackFormat(chosen, role.rowLength);
  }
  return decision;
}
