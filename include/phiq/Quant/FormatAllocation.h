//===- FormatAllocation.h - Formats per tensor under a size budget -*- C++ -*-===//
//
// Mixed precision as a multiple-choice knapsack: every tensor has a few
// candidate formats, each with a size in bytes and a measured cost (its
// calibration-weighted output error); pick one per tensor so that the total
// size fits a budget and the summed cost is least. Solved exactly by dynamic
// programming over the budget in `resolution` units, sizes rounded up to a
// unit (so the result always fits; exact when the budget is at most
// `resolution` bytes, which the unit tests compare against brute force).
// Deterministic: ties go to the earlier candidate. No MLIR.
//
//===----------------------------------------------------------------------===//
#ifndef PHIQ_QUANT_FORMATALLOCATION_H
#define PHIQ_QUANT_FORMATALLOCATION_H

#include "llvm/ADT/ArrayRef.h"
#include "llvm/Support/Error.h"

#include <cstdint>
#include <vector>

namespace phiq::quant {

/// One candidate of one tensor.
struct SizedCost {
  int64_t bytes = 0;
  double cost = 0.0;
};

struct FormatAllocation {
  /// Per tensor, the index of the chosen candidate.
  std::vector<size_t> choice;
  int64_t bytes = 0;
  double cost = 0.0;
};

/// Least total cost with total bytes <= budgetBytes. Every tensor needs at
/// least one candidate; an error says so, or says how many bytes the
/// smallest choice needs when even that does not fit.
llvm::Expected<FormatAllocation>
allocateFormats(llvm::ArrayRef<std::vector<SizedCost>> candidates,
                int64_t budgetBytes, int64_t resolution = 8192);

} // namespace phiq::quant

#endif // PHIQ_QUANT_FORMATALLOCATION_H
