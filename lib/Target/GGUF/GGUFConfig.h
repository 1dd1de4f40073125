//===- GGUFConfig.h - Hyper-parameters of a phi3 / phimoe GGUF --*- C++ -*-===//
//
// The parsed, validated metadata of a GGUF file that llama.cpp would load
// as its `phi3` or `phimoe` architecture. Parsing is as strict as the
// config.json reader: keys that change the math are read and checked, keys
// known to be inert (general.*, tokenizer.*, quantize.*) are accepted, and
// any other key of the architecture is an error, so nothing is dropped
// silently.
//
//===----------------------------------------------------------------------===//
#ifndef PHIQ_LIB_TARGET_GGUF_GGUFCONFIG_H
#define PHIQ_LIB_TARGET_GGUF_GGUFCONFIG_H

#include "phiq/Target/GGUF/GGUFReader.h"

#include "llvm/ADT/SmallVector.h"

#include <optional>
#include <string>

namespace phiq::gguf {

struct GGUFModelConfig {
  /// "phi3" or "phimoe".
  std::string arch;
  int64_t contextLength = 0, hiddenSize = 0, intermediateSize = 0,
          numLayers = 0, numHeads = 0, numKvHeads = 0, headDim = 0,
          rotaryDim = 0;
  double normEps = 0;
  double ropeTheta = 10000.0;
  std::optional<int64_t> slidingWindow;
  /// rope.scaling.original_context_length (longrope, with the factor
  /// tensors) and rope.scaling.attn_factor.
  std::optional<int64_t> originalContextLength;
  std::optional<double> attnFactor;
  /// PhiMoE's expert_count and expert_used_count.
  int64_t numExperts = 0, topK = 0;
  /// Tokens in tokenizer.ggml.tokens (or <arch>.vocab_size without them).
  int64_t vocabSize = 0;
  int64_t bosTokenId = 0, padTokenId = 0;
  /// eos first, then eot, eom and the other end-of-generation tokens
  /// llama.cpp recognizes by their text.
  llvm::SmallVector<int64_t> eosTokenIds;
  /// general.file_type as PhiQ names it ("Q4_K_M"), when the file says.
  std::optional<std::string> fileType;

  bool isMoE() const { return arch == "phimoe"; }
};

/// The double whose shortest decimal form is `value`'s: an f32 key written
/// from config.json's 1e-05 reads back as 1e-05, not 9.99999974e-06. Both
/// round to the same float, which is all the executor uses.
double widenF32(float value);

/// Reads and checks the metadata of `file`. Errors name the file, the key,
/// and what was expected.
llvm::Expected<GGUFModelConfig> parseGGUFModelConfig(const GGUFFile &file);

} // namespace phiq::gguf

#endif // PHIQ_LIB_TARGET_GGUF_GGUFCONFIG_H
