//===- GenAIConfig.h - genai_config.json for ONNX Runtime GenAI -*- C++ -*-===//
//
// The file ONNX Runtime GenAI reads next to model.onnx: model sizes, the
// special tokens, the decoder's input/output names (with the %d pattern of
// the per-layer KV cache) and greedy search defaults.
//
//===----------------------------------------------------------------------===//
#ifndef PHIQ_LIB_TARGET_ONNX_GENAICONFIG_H
#define PHIQ_LIB_TARGET_ONNX_GENAICONFIG_H

#include "llvm/ADT/ArrayRef.h"
#include "llvm/Support/Error.h"

#include <string>
#include <vector>

namespace phiq::onnx {

struct GenAIModelInfo {
  std::string type; // "phi3", "phimoe"
  std::string filename = "model.onnx";
  int64_t vocabSize = 0, hiddenSize = 0, numLayers = 0, numHeads = 0,
          numKvHeads = 0, headSize = 0, contextLength = 0;
  int64_t bosTokenId = 0, padTokenId = 0;
  std::vector<int64_t> eosTokenIds;
};

/// Writes genai_config.json to `path`.
llvm::Error writeGenAIConfig(llvm::StringRef path, const GenAIModelInfo &info);

} // namespace phiq::onnx

#endif // PHIQ_LIB_TARGET_ONNX_GENAICONFIG_H
