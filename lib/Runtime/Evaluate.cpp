//===- Evaluate.cpp - Perplexity of held-out tokens -------------*- C++ -*-===//
//
// Mean negative log-likelihood over every prediction of a [B, T] token
// matrix, the metric every quantized model is judged by. Position t's logits
// predict token t+1; nll = logsumexp(logits) - logits[next]. Sums are kept
// in double so the figure does not depend on the chunking.
//
//===----------------------------------------------------------------------===//
#include "phiq/Runtime/Generate.h"
#include "phiq/Runtime/Kernels.h"

#include "llvm/Support/FormatVariadic.h"

#include <algorithm>
#include <cmath>

using namespace phiq::rt;

llvm::Expected<EvalResult>
phiq::rt::evaluate(Executor &executor, llvm::ArrayRef<int32_t> tokens,
                   int64_t sequences, int64_t seqLen, int64_t chunk,
                   std::vector<float> *logitsOfFirst, bool allLogits) {
  if (seqLen < 2 || sequences < 1 ||
      int64_t(tokens.size()) != sequences * seqLen)
    return llvm::createStringError(llvm::formatv(
        "evaluation needs {0} x {1} >= 2 tokens, got {2}", sequences, seqLen,
        tokens.size()));
  chunk = std::max<int64_t>(1, chunk);
  const int64_t vocab = executor.vocabSize();
  EvalResult result;
  double totalNll = 0;
  int64_t correct = 0;
  std::vector<float> logits;
  for (int64_t first = 0; first < sequences; first += chunk) {
    int64_t count = std::min(chunk, sequences - first);
    std::vector<KVCache> caches(size_t(count), KVCache{executor});
    if (llvm::Error e = executor.forward(
            tokens.slice(first * seqLen, count * seqLen), count, seqLen,
            caches, logits))
      return std::move(e);
    if (logitsOfFirst && allLogits)
      logitsOfFirst->insert(logitsOfFirst->end(), logits.begin(),
                            logits.begin() + count * seqLen * vocab);
    else if (first == 0 && logitsOfFirst)
      logitsOfFirst->assign(logits.begin(), logits.begin() + seqLen * vocab);
    std::vector<double> nll(static_cast<size_t>(count * (seqLen - 1)));
    std::vector<char> hit(nll.size());
    parallelFor(count * (seqLen - 1), 16, [&](int64_t begin, int64_t end) {
      for (int64_t i = begin; i < end; ++i) {
        int64_t s = i / (seqLen - 1), t = i % (seqLen - 1);
        const float *row = logits.data() + (s * seqLen + t) * vocab;
        int32_t next = tokens[(first + s) * seqLen + t + 1];
        nll[i] = double(logSumExp(row, vocab)) - double(row[next]);
        hit[i] = std::max_element(row, row + vocab) - row == next;
      }
    });
    for (int64_t s = 0; s < count; ++s) {
      double sum = 0;
      for (int64_t t = 0; t < seqLen - 1; ++t) {
        sum += nll[s * (seqLen - 1) + t];
        correct += hit[s * (seqLen - 1) + t];
      }
      totalNll += sum;
      result.perSequenceMeanNll.push_back(sum / double(seqLen - 1));
    }
  }
  result.predictions = sequences * (seqLen - 1);
  result.meanNll = totalNll / double(result.predictions);
  result.perplexity = std::exp(result.meanNll);
  result.top1Accuracy = double(correct) / double(result.predictions);
  return result;
}

llvm::Expected<EvalResult>
phiq::rt::evaluateDecoding(Executor &executor, llvm::ArrayRef<int32_t> tokens,
                           int64_t sequences, int64_t seqLen, int64_t prefill,
                           int64_t chunk) {
  if (seqLen < 2 || sequences < 1 ||
      int64_t(tokens.size()) != sequences * seqLen)
    return llvm::createStringError(llvm::formatv(
        "evaluation needs {0} x {1} >= 2 tokens, got {2}", sequences, seqLen,
        tokens.size()));
  if (prefill < 1 || prefill >= seqLen)
    return llvm::createStringError(llvm::formatv(
        "the prefill must hold 1 to {0} tokens of each {1}-token window, "
        "got {2}",
        seqLen - 1, seqLen, prefill));
  chunk = std::max<int64_t>(1, chunk);
  const int64_t vocab = executor.vocabSize();
  EvalResult result;
  double totalNll = 0;
  int64_t correct = 0;
  std::vector<float> logits;
  std::vector<int32_t> ids;
  for (int64_t first = 0; first < sequences; first += chunk) {
    const int64_t count = std::min(chunk, sequences - first);
    std::vector<KVCache> caches(size_t(count), KVCache{executor});
    std::vector<double> sums(size_t(count), 0.0);
    // Rows of `logits` are [count, fed] for positions start..start+fed-1.
    auto score = [&](int64_t start, int64_t fed) {
      for (int64_t s = 0; s < count; ++s)
        for (int64_t t = 0; t < fed && start + t + 1 < seqLen; ++t) {
          const float *row = logits.data() + (s * fed + t) * vocab;
          int32_t next = tokens[(first + s) * seqLen + start + t + 1];
          sums[size_t(s)] += double(logSumExp(row, vocab)) - double(row[next]);
          correct += std::max_element(row, row + vocab) - row == next;
        }
    };
    ids.clear();
    for (int64_t s = 0; s < count; ++s)
      ids.insert(ids.end(), tokens.begin() + (first + s) * seqLen,
                 tokens.begin() + (first + s) * seqLen + prefill);
    if (llvm::Error e = executor.forward(ids, count, prefill, caches, logits))
      return std::move(e);
    score(0, prefill);
    for (int64_t t = prefill; t + 1 < seqLen; ++t) {
      ids.clear();
      for (int64_t s = 0; s < count; ++s)
        ids.push_back(tokens[(first + s) * seqLen + t]);
      if (llvm::Error e = executor.forward(ids, count, 1, caches, logits))
        return std::move(e);
      score(t, 1);
    }
    for (double sum : sums) {
      totalNll += sum;
      result.perSequenceMeanNll.push_back(sum / double(seqLen - 1));
    }
  }
  result.predictions = sequences * (seqLen - 1);
  result.meanNll = totalNll / double(result.predictions);
  result.perplexity = std::exp(result.meanNll);
  result.top1Accuracy = double(correct) / double(result.predictions);
  return result;
}
