//===- Generate.h - Evaluation and generation over an executor --*- C++ -*-===//
//
// The two jobs phi-run does with a model: score held-out tokens (mean NLL,
// perplexity, top-1 accuracy) and continue a prompt (greedy or seeded
// sampling, stopping at any of the checkpoint's end tokens).
//
//===----------------------------------------------------------------------===//
#ifndef PHIQ_RUNTIME_GENERATE_H
#define PHIQ_RUNTIME_GENERATE_H

#include "phiq/Runtime/Executor.h"

#include <cstdint>
#include <functional>
#include <optional>
#include <vector>

namespace phiq::rt {

struct EvalResult {
  double meanNll = 0;
  double perplexity = 0;
  double top1Accuracy = 0;
  int64_t predictions = 0;
  std::vector<double> perSequenceMeanNll;
};

/// Scores `sequences` rows of `seqLen` ids: position t predicts token t+1,
/// nothing is prepended. Runs `chunk` sequences per forward pass. If
/// `logitsOfFirst` is given, the first sequence's logits [seqLen, vocab] are
/// stored there; with `allLogits`, every sequence's ([sequences, seqLen,
/// vocab]).
llvm::Expected<EvalResult> evaluate(Executor &executor,
                                    llvm::ArrayRef<int32_t> tokens,
                                    int64_t sequences, int64_t seqLen,
                                    int64_t chunk = 8,
                                    std::vector<float> *logitsOfFirst = nullptr,
                                    bool allLogits = false);

/// The same score computed the way a runtime decodes: each chunk of
/// `chunk` sequences is prefilled with its first `prefill` tokens in one
/// forward pass, then fed one token per pass through the KV cache. The
/// float model gives the full pass's figure up to rounding; a model with
/// dynamically quantized activations does not (its ranges span the tokens
/// of one pass), and this is the protocol that predicts a runtime driven
/// the same way.
llvm::Expected<EvalResult> evaluateDecoding(Executor &executor,
                                            llvm::ArrayRef<int32_t> tokens,
                                            int64_t sequences, int64_t seqLen,
                                            int64_t prefill, int64_t chunk);

struct SamplingOptions {
  /// 0 means greedy (argmax).
  double temperature = 0;
  /// Keep the k most likely tokens (0 = all).
  int64_t topK = 0;
  /// Keep the smallest set whose probability reaches p (1 = all).
  double topP = 1.0;
  uint64_t seed = 0;
};

struct GenerateOptions {
  int64_t maxNewTokens = 64;
  SamplingOptions sampling;
  /// Stop at any of these ids (the end token itself is not returned).
  std::vector<int64_t> stopTokens;
};

struct GenerateResult {
  std::vector<int32_t> tokens;
  /// The end token that stopped generation, if one did.
  std::optional<int32_t> stoppedBy;
  int64_t promptTokens = 0;
  double prefillSeconds = 0, decodeSeconds = 0;
};

/// Picks the next token from `logits` (vocab floats).
class Sampler {
public:
  explicit Sampler(SamplingOptions options);
  int32_t sample(llvm::ArrayRef<float> logits);

private:
  SamplingOptions options;
  uint64_t state;
  double uniform();
};

/// Continues `prompt`; `onToken` (if set) sees each new token as it comes.
llvm::Expected<GenerateResult>
generate(Executor &executor, llvm::ArrayRef<int32_t> prompt,
         const GenerateOptions &options,
         const std::function<void(int32_t)> &onToken = {});

} // namespace phiq::rt

#endif // PHIQ_RUNTIME_GENERATE_H
