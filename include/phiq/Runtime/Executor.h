//===- Executor.h - Reference executor for phi models -----------*- C++ -*-===//
//
// Runs a `phi.model` on token ids in fp32: the oracle every other backend
// and every quantized model is compared against. Weights are upcast to fp32
// once, when the executor is created; activations flow through the fp32
// kernels of Kernels.h; each sequence keeps a KV cache so that generation
// costs one token's work per step.
//
//===----------------------------------------------------------------------===//
#ifndef PHIQ_RUNTIME_EXECUTOR_H
#define PHIQ_RUNTIME_EXECUTOR_H

#include "dialects/Phi/PhiOps.h"

#include "llvm/ADT/ArrayRef.h"
#include "llvm/ADT/DenseMap.h"
#include "llvm/Support/Error.h"

#include <functional>
#include <memory>
#include <optional>
#include <vector>

namespace phiq::rt {

class Executor;

/// The keys and values one sequence has seen, per attention layer.
class KVCache {
public:
  explicit KVCache(const Executor &executor);
  /// Tokens cached so far (the position of the next token).
  int64_t length() const { return len; }
  void clear() {
    len = 0;
    tokens.clear();
  }

private:
  friend class Executor;
  struct Layer {
    std::vector<float> keys, values; // [capacity, kvDim] each
    int64_t kvDim = 0;
  };
  std::vector<Layer> layers;
  /// The ids behind the cached keys, for a full recompute (see forward).
  std::vector<int32_t> tokens;
  int64_t len = 0;
};

class Executor {
public:
  /// Prepares `model` for execution: resolves and upcasts every weight.
  /// The model must outlive the executor.
  struct Options {
    /// Round each matmul's activations the way llama.cpp's CPU backend does
    /// for the weight's storage type (Q8_0 / Q8_K / fp16 / bf16 rows), to
    /// predict a GGUF file's numbers in llama.cpp rather than the exact
    /// math of the quantized model.
    bool llamaCppArithmetic = false;
  };

  static llvm::Expected<std::unique_ptr<Executor>>
  create(mlir::phi::ModelOp model, Options options);
  static llvm::Expected<std::unique_ptr<Executor>>
  create(mlir::phi::ModelOp model) {
    return create(model, Options());
  }

  /// Runs `batch` sequences of `newTokens` ids each (row-major in `tokens`),
  /// appending to `caches[b]`; all caches must hold the same number of
  /// tokens. Writes logits [batch * newTokens, vocab] into `logits`, or
  /// [batch, vocab] for the last new token of each sequence if `lastOnly`.
  ///
  /// Like transformers' Phi3ForCausalLM, the first call whose positions
  /// pass a longrope model's original context while the caches still hold
  /// keys from within it drops the caches and recomputes every position with
  /// the long factors (keys rotated with short factors would be wrong).
  llvm::Error forward(llvm::ArrayRef<int32_t> tokens, int64_t batch,
                      int64_t newTokens, llvm::MutableArrayRef<KVCache> caches,
                      std::vector<float> &logits, bool lastOnly = false);

  int64_t vocabSize() const { return vocab; }
  int64_t numAttentionLayers() const { return int64_t(attentionOps.size()); }
  mlir::phi::ModelOp getModel() const { return model; }

  /// The original context of the model's longrope attention, if any.
  std::optional<int64_t> longRopeOriginalContext() const;

  /// Multiply-adds of the linear layers, experts and LM head per token, for
  /// throughput figures (attention's score work is not included).
  int64_t matmulFlopsPerToken() const { return flopsPerToken; }

  /// Routing statistics: for each phi.moe_route op (in program order), how
  /// many times each expert was chosen since the last reset.
  const std::vector<std::vector<int64_t>> &expertCounts() const {
    return routing;
  }
  void resetRoutingStats() {
    for (auto &counts : routing)
      std::fill(counts.begin(), counts.end(), 0);
  }
  /// Called after every routing decision with the router's index, the
  /// chosen experts [rows, topK] (calibration passes record these).
  using RoutingObserver = std::function<void(
      unsigned router, llvm::ArrayRef<int32_t> indices, int64_t rows,
      int64_t topK)>;
  void setRoutingObserver(RoutingObserver observer) {
    routingObserver = std::move(observer);
  }

  /// Called with the input of every matrix multiplication by a weight
  /// (phi.linear, phi.lm_head, phiq.linear, each expert projection of
  /// phi.moe_experts), before any llama.cpp rounding: `weight` is the weight
  /// operand (the phi.weight behind a phiq.dequantize), `expert` the slice of
  /// a stacked expert tensor (-1 otherwise), `input` [rows, cols] row-major;
  /// for experts only the rows routed to that expert. Calibration collects
  /// its per-channel statistics through this.
  using LinearInputObserver =
      std::function<void(mlir::Value weight, int64_t expert,
                         llvm::ArrayRef<float> input, int64_t rows,
                         int64_t cols)>;
  void setLinearInputObserver(LinearInputObserver observer) {
    linearInputObserver = std::move(observer);
  }

  /// The int8 codes and per-row scales of QDQ8_CHANNEL weights (by the
  /// packed value), which linears with quantized inputs multiply as
  /// integers.
  struct Int8Rows {
    std::vector<int8_t> codes;
    std::vector<float> scales;
  };

private:
  explicit Executor(mlir::phi::ModelOp model) : model(model) {}
  friend class KVCache;

  mlir::phi::ModelOp model;
  Options options;
  int64_t vocab = 0;
  int64_t flopsPerToken = 0;
  /// fp32 copies of every weight, by the phi.weight result that holds it.
  llvm::DenseMap<mlir::Value, std::vector<float>> weights;
  /// QDQ8_CHANNEL weights' codes by the packed value (see Int8Rows).
  llvm::DenseMap<mlir::Value, Int8Rows> int8Weights;
  llvm::DenseMap<mlir::Operation *, unsigned> routeIndex;
  std::vector<std::vector<int64_t>> routing;
  RoutingObserver routingObserver;
  LinearInputObserver linearInputObserver;
  /// The op after which each activation is dead.
  llvm::DenseMap<mlir::Value, mlir::Operation *> lastUser;
  /// Attention ops in program order; their index is their cache layer.
  llvm::DenseMap<mlir::Operation *, unsigned> attentionIndex;
  std::vector<mlir::phi::AttentionOp> attentionOps;
};

} // namespace phiq::rt

#endif // PHIQ_RUNTIME_EXECUTOR_H
