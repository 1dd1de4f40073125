//===- HFConfig.h - config.json of Phi family checkpoints -------*- C++ -*-===//
//
// The parsed, validated form of a Phi3ForCausalLM or PhimoeForCausalLM
// config.json (plus the end tokens of generation_config.json). Parsing is strict: a field that changes
// the math is read and checked, a field known to be inert is accepted, and
// anything else is an error, so that no setting is silently dropped.
//
//===----------------------------------------------------------------------===//
#ifndef PHIQ_LIB_TARGET_HF_HFCONFIG_H
#define PHIQ_LIB_TARGET_HF_HFCONFIG_H

#include "llvm/ADT/SmallVector.h"
#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"

#include <optional>
#include <string>

namespace phiq::hf {

struct RopeConfig {
  bool longRope = false;
  double theta = 10000.0;
  double partialRotaryFactor = 1.0;
  int64_t originalMaxPositions = 0;
  double attentionFactor = 1.0;
  /// PhiMoE's long_mscale: the cos/sin scale once long factors apply.
  std::optional<double> longAttentionFactor;
  llvm::SmallVector<double> shortFactor, longFactor;
};

/// PhiMoE's sparse mixture-of-experts block.
struct MoeConfig {
  int64_t numExperts = 0;
  int64_t topK = 0;
  /// router_jitter_noise: sparsemixer's relative threshold (times 2).
  double jitterEps = 0;
};

struct Phi3Config {
  std::string architecture;
  /// Set for PhimoeForCausalLM: LayerNorm (with bias) instead of RMSNorm,
  /// separate q/k/v projections, experts instead of the gated MLP.
  std::optional<MoeConfig> moe;
  /// Biases on q/k/v/o (PhiMoE's attention_bias) and on lm_head.
  bool attentionBias = false, lmHeadBias = false;
  int64_t vocabSize = 0, hiddenSize = 0, intermediateSize = 0, numLayers = 0;
  int64_t numHeads = 0, numKvHeads = 0, headDim = 0;
  int64_t maxPositions = 0;
  double rmsNormEps = 0;
  std::optional<int64_t> slidingWindow;
  bool tieWordEmbeddings = false;
  int64_t bosTokenId = 0, padTokenId = 0;
  llvm::SmallVector<int64_t> eosTokenIds;
  /// "F32", "F16" or "BF16" when config.json declares a dtype.
  std::optional<std::string> dtype;
  RopeConfig rope;

  int64_t rotaryDim() const {
    return int64_t(double(headDim) * rope.partialRotaryFactor);
  }
};

/// Parses `dir`/config.json and, if present, `dir`/generation_config.json.
/// `extraInertKeys` are accepted as having no effect on the math.
llvm::Expected<Phi3Config>
parsePhi3Config(llvm::StringRef dir,
                llvm::ArrayRef<std::string> extraInertKeys = {});

} // namespace phiq::hf

#endif // PHIQ_LIB_TARGET_HF_HFCONFIG_H
