//===- TensorNames.h - Checkpoint names to GGUF names -----------*- C++ -*-===//
//
// How llama.cpp names the tensors of its phi3 and phimoe architectures, and
// what role each one plays for quantization. The quantizer's recipes and
// the GGUF writer both go through this one table.
//
//===----------------------------------------------------------------------===//
#ifndef PHIQ_TARGET_GGUF_TENSORNAMES_H
#define PHIQ_TARGET_GGUF_TENSORNAMES_H

#include "phiq/Quant/Recipe.h"

#include "llvm/ADT/StringRef.h"

#include <optional>
#include <string>

namespace phiq::gguf {

struct TensorName {
  /// The GGUF name; per-expert checkpoint tensors map to the stacked GGUF
  /// tensor (`blk.N.ffn_up_exps.weight`) and `expert` says which slice.
  std::string name;
  quant::TensorCategory category;
  int layer = -1;
  int expert = -1;
};

/// The GGUF name of a Phi-3 / PhiMoE checkpoint tensor, or std::nullopt if
/// it is not one of theirs. A GGUF name maps to itself (a stacked expert
/// tensor with `expert` -1).
std::optional<TensorName> ggufTensorName(llvm::StringRef checkpointName);

} // namespace phiq::gguf

#endif // PHIQ_TARGET_GGUF_TENSORNAMES_H
