//===- FormatAllocation.cpp - Formats per tensor under a size budget ------===//
//
// best[t][u]: least cost of tensors 0..t-1 within u units. One row of
// choices per tensor is kept to walk back; memory is tensors x units bytes
// (130 tensors x 8192 units for a 3.8B model: 1 MB).
//
//===----------------------------------------------------------------------===//
#include "phiq/Quant/FormatAllocation.h"

#include "llvm/Support/FormatVariadic.h"

#include <limits>

using namespace phiq::quant;

llvm::Expected<FormatAllocation>
phiq::quant::allocateFormats(llvm::ArrayRef<std::vector<SizedCost>> candidates,
                             int64_t budgetBytes, int64_t resolution) {
  if (resolution < 1)
    return llvm::createStringError("allocation resolution must be positive");
  int64_t minimum = 0;
  for (size_t t = 0; t < candidates.size(); ++t) {
    if (candidates[t].empty())
      return llvm::createStringError(
          llvm::formatv("tensor {0} has no candidate format", t));
    int64_t smallest = std::numeric_limits<int64_t>::max();
    for (const SizedCost &c : candidates[t]) {
      if (c.bytes < 0)
        return llvm::createStringError(
            llvm::formatv("tensor {0} has a negative size", t));
      smallest = std::min(smallest, c.bytes);
    }
    minimum += smallest;
  }
  if (minimum > budgetBytes)
    return llvm::createStringError(llvm::formatv(
        "the smallest formats need {0} bytes, over the budget of {1} bytes",
        minimum, budgetBytes));

  // Sizes round up to whole units, so any choice within `units` fits.
  const int64_t unit = std::max<int64_t>(1, (budgetBytes + resolution - 1) / resolution);
  const int64_t units = budgetBytes / unit;
  auto unitsOf = [&](int64_t bytes) { return (bytes + unit - 1) / unit; };
  constexpr double inf = std::numeric_limits<double>::infinity();
  constexpr uint16_t none = std::numeric_limits<uint16_t>::max();

  std::vector<double> best(static_cast<size_t>(units + 1), 0.0), next;
  std::vector<std::vector<uint16_t>> chosen(candidates.size());
  for (size_t t = 0; t < candidates.size(); ++t) {
    next.assign(best.size(), inf);
    chosen[t].assign(best.size(), none);
    for (int64_t u = 0; u <= units; ++u) {
      for (size_t k = 0; k < candidates[t].size() && k < none; ++k) {
        int64_t need = unitsOf(candidates[t][k].bytes);
        if (need > u || best[u - need] == inf)
          continue;
        double total = best[u - need] + candidates[t][k].cost;
        if (total < next[u]) {
          next[u] = total;
          chosen[t][u] = uint16_t(k);
        }
      }
    }
    best.swap(next);
  }
  if (best[units] == inf)
    return llvm::createStringError(llvm::formatv(
        "no choice of formats fits {0} bytes once sizes are rounded to "
        "{1}-byte units; the smallest formats need {2} bytes",
        budgetBytes, unit, minimum));

  FormatAllocation result;
  result.choice.resize(candidates.size());
  int64_t u = units;
  for (size_t t = candidates.size(); t-- > 0;) {
    size_t k = chosen[t][u];
    result.choice[t] = k;
    result.bytes += candidates[t][k].bytes;
    result.cost += candidates[t][k].cost;
    u -= unitsOf(candidates[t][k].bytes);
  }
  return result;
}
