//===- PrintModelSummary.cpp - Structure of a phi.model ---------*- C++ -*-===//
//
// A read-only report of what a model is made of. It is the first thing a
// user wants after an import ("did it see 32 layers, GQA 24/8, longrope?"),
// and it counts parameters from the IR types alone, so it is instant even on
// a multi-gigabyte checkpoint.
//
//===----------------------------------------------------------------------===//
#include "passes/Passes.h"

#include "dialects/Phi/PhiOps.h"

#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/raw_ostream.h"

#include <map>

namespace phiq {
#define GEN_PASS_DEF_PRINTMODELSUMMARY
#include "passes/Passes.h.inc"
} // namespace phiq

#define DEBUG_TYPE "phiq-print-model-summary"

using namespace mlir;
using namespace mlir::phi;

namespace {

struct ModelSummary {
  std::string name, architecture, ropeKind;
  int64_t layers = 0, hidden = 0, vocab = 0, heads = 0, kvHeads = 0,
          headDim = 0, rotaryDim = 0, intermediate = 0, maxPositions = 0,
          originalMaxPositions = 0;
  double attentionFactor = 1.0;
  bool tied = false;
  /// Element type name -> (parameters, bytes), each weight counted once.
  std::map<std::string, std::pair<int64_t, int64_t>> weights;
};

ModelSummary summarize(ModelOp model) {
  ModelSummary s;
  ConfigAttr config = model.getConfig();
  s.name = model.getSymName().str();
  s.architecture = config.getArchitecture().getValue().str();
  s.layers = config.getNumLayers();
  s.hidden = config.getHiddenSize();
  s.vocab = config.getVocabSize();
  s.maxPositions = config.getMaxPositions();
  s.tied = config.getTieWordEmbeddings().getValue();
  model.walk([&](Operation *op) {
    if (auto attn = dyn_cast<AttentionOp>(op)) {
      s.heads = attn.getNumHeads();
      s.kvHeads = attn.getNumKvHeads();
      s.headDim = attn.getHeadDim();
      RopeAttr rope = attn.getRope();
      s.rotaryDim = rope.getRotaryDim();
      s.ropeKind = stringifyRopeKind(rope.getKind()).str();
      s.originalMaxPositions = rope.getOriginalMaxPositions();
      s.attentionFactor = rope.getAttentionFactor().getValueAsDouble();
    } else if (auto glu = dyn_cast<GluOp>(op)) {
      s.intermediate = glu.getResult().getType().getShape().back();
    } else if (auto weight = dyn_cast<WeightOp>(op)) {
      auto type = weight.getType();
      std::string element;
      llvm::raw_string_ostream os(element);
      os << type.getElementType();
      auto &entry = s.weights[element];
      entry.first += type.getNumElements();
      entry.second += type.getNumElements() *
                      int64_t(type.getElementTypeBitWidth()) / 8;
    }
  });
  return s;
}

void printText(const ModelSummary &s, llvm::raw_ostream &os) {
  int64_t params = 0, bytes = 0;
  for (const auto &[_, v] : s.weights) {
    params += v.first;
    bytes += v.second;
  }
  os << llvm::formatv("model @{0} ({1})\n", s.name, s.architecture);
  os << llvm::formatv("  layers {0}, hidden {1}, mlp {2} (gated silu), "
                      "vocab {3}\n",
                      s.layers, s.hidden, s.intermediate, s.vocab);
  os << llvm::formatv("  attention: {0} heads, {1} kv heads{2}, head_dim {3}\n",
                      s.heads, s.kvHeads, s.heads == s.kvHeads ? "" : " (GQA)",
                      s.headDim);
  os << llvm::formatv("  rope: {0}, rotary_dim {1} of {2}, context {3} "
                      "(original {4}), attention_factor {5:F6}\n",
                      s.ropeKind, s.rotaryDim, s.headDim, s.maxPositions,
                      s.originalMaxPositions, s.attentionFactor);
  os << llvm::formatv("  embeddings: {0}\n", s.tied ? "tied" : "untied");
  os << llvm::formatv("  parameters: {0} ({1:F2} MiB)\n", params,
                      double(bytes) / (1024.0 * 1024.0));
  for (const auto &[type, v] : s.weights)
    os << llvm::formatv("    {0}: {1} parameters, {2} bytes\n", type, v.first,
                        v.second);
}

llvm::json::Object toJson(const ModelSummary &s) {
  llvm::json::Object weights;
  for (const auto &[type, v] : s.weights)
    weights[type] = llvm::json::Object{{"parameters", v.first},
                                       {"bytes", v.second}};
  return llvm::json::Object{
      {"model", s.name},         {"architecture", s.architecture},
      {"layers", s.layers},      {"hidden_size", s.hidden},
      {"intermediate_size", s.intermediate},
      {"vocab_size", s.vocab},   {"num_heads", s.heads},
      {"num_kv_heads", s.kvHeads}, {"head_dim", s.headDim},
      {"rope", s.ropeKind},      {"rotary_dim", s.rotaryDim},
      {"max_positions", s.maxPositions},
      {"original_max_positions", s.originalMaxPositions},
      {"attention_factor", s.attentionFactor},
      {"tie_word_embeddings", s.tied}, {"weights", std::move(weights)}};
}

struct PrintModelSummary
    : phiq::impl::PrintModelSummaryBase<PrintModelSummary> {
  using Base::Base;
  void runOnOperation() override {
    for (ModelOp model : getOperation().getOps<ModelOp>()) {
      ModelSummary s = summarize(model);
      if (asJson)
        llvm::outs() << llvm::json::Value(toJson(s)) << "\n";
      else
        printText(s, llvm::outs());
    }
    markAllAnalysesPreserved();
  }
};

} // namespace
