//===- AttentionLowering.h - phi.attention as standard ONNX ops -*- C++ -*-===//
//
// Lowers phi.attention (grouped-query, rotary incl. longrope and partial
// rotary, sliding window) with a KV cache to standard ONNX ops, reproducing
// phi-run's arithmetic. See AttentionLowering.cpp for why standard ops.
//
//===----------------------------------------------------------------------===//
#ifndef PHIQ_LIB_TARGET_ONNX_ATTENTIONLOWERING_H
#define PHIQ_LIB_TARGET_ONNX_ATTENTIONLOWERING_H

#include "GraphBuilder.h"

#include "dialects/Phi/PhiOps.h"

#include "llvm/ADT/DenseMap.h"

namespace phiq::onnx {

/// The graph inputs every attention layer reads.
struct DecoderInputs {
  std::string inputIds;      // int64 [batch, new tokens]
  std::string attentionMask; // int64 [batch, past + new tokens]
  std::string positionIds;   // int64 [batch, new tokens]
};

class AttentionLowering {
public:
  AttentionLowering(GraphBuilder &builder, int32_t actType,
                    DecoderInputs inputs)
      : b(builder), act(actType), inputs(std::move(inputs)) {}

  /// Emits layer `layer`'s attention on the projected q, k, v ([B, T, *]),
  /// adds past_key_values.<layer>.{key,value} inputs and
  /// present.<layer>.{key,value} outputs, and returns the attended values
  /// [B, T, num_heads * head_dim].
  llvm::Expected<std::string> lower(mlir::phi::AttentionOp op, unsigned layer,
                                    const std::string &q, const std::string &k,
                                    const std::string &v);

private:
  struct Rotary {
    std::string cos, sin; // [B, 1, T, rotary_dim / 2]
  };
  llvm::Expected<Rotary> rotaryFor(mlir::phi::RopeAttr rope);
  std::string maskFor(std::optional<int64_t> window);
  std::string rotate(const std::string &x, const Rotary &rotary,
                     int64_t headDim, int64_t rotaryDim);
  std::string toFloat(const std::string &x);
  std::string toAct(const std::string &x);
  /// A [rows, half] cos or sin table scaled as phi-run scales it.
  llvm::Expected<std::string> table(mlir::phi::RopeAttr rope, bool longFactors,
                                    bool sine, int64_t rows);

  GraphBuilder &b;
  int32_t act;
  DecoderInputs inputs;
  llvm::DenseMap<mlir::Attribute, Rotary> rotaries;
  std::map<int64_t, std::string> masks; // by window; INT64_MAX = none
  std::string totalLength, pastLength;
};

} // namespace phiq::onnx

#endif // PHIQ_LIB_TARGET_ONNX_ATTENTIONLOWERING_H
