//===- EmulateLlamaCpp.cpp - llama.cpp's PhiMoE semantics -------*- C++ -*-===//
//
// Rewrites the two places where llama.cpp's PhiMoE graph departs from the
// checkpoint (LayerNorm -> RMS norm + bias, sparsemixer -> softmax top-k with
// renormalized weights), so a user can predict what their GGUF does there.
//
//===----------------------------------------------------------------------===//
#include "passes/Passes.h"

#include "dialects/Phi/PhiOps.h"

#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace phiq {
#define GEN_PASS_DEF_EMULATELLAMACPP
#include "passes/Passes.h.inc"
} // namespace phiq

#define DEBUG_TYPE "phiq-emulate-llamacpp"

using namespace mlir;
using namespace mlir::phi;

namespace {

/// layer_norm(x, w, b) -> rms_norm(x, w, b): llama.cpp's phi3 graph uses
/// LLM_NORM_RMS with the bias added.
struct LayerNormToRmsNorm : OpRewritePattern<LayerNormOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(LayerNormOp op,
                                PatternRewriter &rewriter) const override {
    rewriter.replaceOpWithNewOp<RmsNormOp>(op, op.getType(), op.getInput(),
                                           op.getWeight(), op.getBias(),
                                           op.getEpsilonAttr());
    return success();
  }
};

/// sparsemixer -> softmax over all logits, top-k, weights renormalized.
struct SparseMixerToSoftmaxTopK : OpRewritePattern<MoeRouteOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(MoeRouteOp op,
                                PatternRewriter &rewriter) const override {
    if (op.getRouting() != Routing::SparseMixer)
      return rewriter.notifyMatchFailure(op, "already softmax_topk");
    rewriter.modifyOpInPlace(op, [&] {
      op.setRouting(Routing::SoftmaxTopK);
      op.removeJitterEpsAttr();
      op.setNormalize(true);
    });
    return success();
  }
};

struct EmulateLlamaCpp : ::phiq::impl::EmulateLlamaCppBase<EmulateLlamaCpp> {
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    ::phiq::populateEmulateLlamaCppPatterns(patterns);
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      signalPassFailure();
  }
};

} // namespace

void ::phiq::populateEmulateLlamaCppPatterns(RewritePatternSet &patterns) {
  patterns.add<LayerNormToRmsNorm, SparseMixerToSoftmaxTopK>(
      patterns.getContext());
}
