//===- Generate.cpp - Prompt continuation with a KV cache -------*- C++ -*-===//
//
// Prefill the prompt in one forward pass, then one token per step through the
// KV cache, sampling each next token and stopping at the first end token.
//
//===----------------------------------------------------------------------===//
#include "phiq/Runtime/Generate.h"

#include "llvm/ADT/STLExtras.h"

#include <chrono>

using namespace phiq::rt;

llvm::Expected<GenerateResult>
phiq::rt::generate(Executor &executor, llvm::ArrayRef<int32_t> prompt,
                   const GenerateOptions &options,
                   const std::function<void(int32_t)> &onToken) {
  if (prompt.empty())
    return llvm::createStringError("generation needs a non-empty prompt");
  using Clock = std::chrono::steady_clock;
  GenerateResult result;
  result.promptTokens = int64_t(prompt.size());
  Sampler sampler(options.sampling);
  std::vector<KVCache> cache(1, KVCache{executor});
  std::vector<float> logits;

  auto start = Clock::now();
  if (llvm::Error e = executor.forward(prompt, 1, int64_t(prompt.size()), cache,
                                       logits, /*lastOnly=*/true))
    return std::move(e);
  result.prefillSeconds =
      std::chrono::duration<double>(Clock::now() - start).count();

  start = Clock::now();
  for (int64_t step = 0; step < options.maxNewTokens; ++step) {
    int32_t next = sampler.sample(logits);
    if (llvm::is_contained(options.stopTokens, int64_t(next))) {
      result.stoppedBy = next;
      break;
    }
    result.tokens.push_back(next);
    if (onToken)
      onToken(next);
    if (step + 1 == options.maxNewTokens)
      break;
    if (llvm::Error e = executor.forward(llvm::ArrayRef<int32_t>(next), 1, 1,
                                         cache, logits, /*lastOnly=*/true))
      return std::move(e);
  }
  result.decodeSeconds =
      std::chrono::duration<double>(Clock::now() - start).count();
  return result;
}
