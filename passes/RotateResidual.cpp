//===- RotateResidual.cpp - Fold an orthogonal rotation into a model ------===//
//
// --phiq-rotate-residual: QuaRot's residual-stream rotation (Rotation.h)
// folded entirely into the weights, so the graph keeps its ops and every
// runtime runs the rotated model as it is. The stream is followed from the
// token embedding through the phi.add chain: every phi.rms_norm that reads
// it has its weight folded into the linears (and the lm_head) it feeds and
// becomes all ones; every phi.linear added into it is rotated on its output
// side. Anything else reading the stream cannot be folded and is an error
// naming the op. The rotated tensors go, as f32, into the safetensors store
// `output`, which the weights then read.
//
//===----------------------------------------------------------------------===//
#include "passes/PackedWeights.h"
#include "passes/Passes.h"
#include "passes/SingleModel.h"

#include "dialects/Phi/PhiOps.h"
#include "dialects/PhiQ/PackWeight.h"
#include "phiq/Quant/Rotation.h"

#include "llvm/ADT/DenseMap.h"
#include "llvm/ADT/SetVector.h"
#include "llvm/ADT/StringSet.h"

namespace phiq {
#define GEN_PASS_DEF_ROTATERESIDUAL
#include "passes/Passes.h.inc"
} // namespace phiq

#define DEBUG_TYPE "phiq-rotate-residual"

using namespace mlir;
using namespace mlir::phi;
namespace quant = ::phiq::quant;

namespace {

/// What the rotation does to one weight (or bias) operand.
struct Fold {
  enum Kind { Inputs, Outputs, Embedding, Ones } kind;
  OpOperand *operand;
  /// Inputs: the norm weight folded in (null: none).
  WeightOp norm;
};

struct RotateResidual : ::phiq::impl::RotateResidualBase<RotateResidual> {
  using Base::Base;

  void runOnOperation() override {
    FailureOr<ModelOp> model =
        ::phiq::getSingleModel(getOperation(), "phiq-rotate-residual");
    if (failed(model) || failed(rotate(*model)))
      signalPassFailure();
  }

  /// The weight op behind a weight operand, or an error at `user`.
  FailureOr<WeightOp> weightOf(Operation *user, Value v) {
    if (auto w = v.getDefiningOp<WeightOp>())
      return w;
    return user->emitError()
           << "phiq-rotate-residual: this op's weight is not a phi.weight";
  }

  LogicalResult collect(ModelOp model, std::vector<Fold> &folds,
                        int64_t &hidden) {
    SmallVector<EmbeddingOp> embeddings;
    model.walk([&](EmbeddingOp e) { embeddings.push_back(e); });
    if (embeddings.size() != 1)
      return model.emitError() << "phiq-rotate-residual expects one "
                                  "phi.embedding, found "
                               << embeddings.size();
    EmbeddingOp embedding = embeddings.front();
    hidden = cast<ShapedType>(embedding.getTable().getType()).getShape().back();
    folds.push_back({Fold::Embedding, &embedding->getOpOperand(1), {}});

    llvm::SetVector<Value> stream;
    stream.insert(embedding.getResult());
    for (size_t i = 0; i < stream.size(); ++i) {
      Value v = stream[i];
      for (OpOperand &use : v.getUses()) {
        Operation *user = use.getOwner();
        if (auto add = dyn_cast<AddOp>(user)) {
          Value other = add.getLhs() == v ? add.getRhs() : add.getLhs();
          if (stream.contains(other)) {
            stream.insert(add.getResult());
            continue;
          }
          auto writer = other.getDefiningOp<LinearOp>();
          if (!writer)
            return add.emitError()
                   << "phiq-rotate-residual: the residual stream is added to "
                      "a value no phi.linear produces; the rotation cannot "
                      "be folded";
          if (failed(weightOf(writer, writer.getWeight())))
            return failure();
          folds.push_back({Fold::Outputs, &writer->getOpOperand(1), {}});
          if (writer.getBias())
            folds.push_back({Fold::Outputs, &writer->getOpOperand(2), {}});
          stream.insert(add.getResult());
          continue;
        }
        if (auto norm = dyn_cast<RmsNormOp>(user)) {
          if (norm.getBias())
            return norm.emitError() << "phiq-rotate-residual: an rms_norm "
                                       "with a bias cannot be folded";
          FailureOr<WeightOp> g = weightOf(norm, norm.getWeight());
          if (failed(g))
            return failure();
          folds.push_back({Fold::Ones, &norm->getOpOperand(1), {}});
          for (OpOperand &normUse : norm.getResult().getUses()) {
            Operation *reader = normUse.getOwner();
            if (!isa<LinearOp, LmHeadOp>(reader) ||
                normUse.getOperandNumber() != 0)
              return reader->emitError()
                     << "phiq-rotate-residual: a normed residual feeds this "
                        "op; only phi.linear and phi.lm_head can fold the "
                        "rotation";
            if (failed(weightOf(reader, reader->getOperand(1))))
              return failure();
            folds.push_back({Fold::Inputs, &reader->getOpOperand(1), *g});
          }
          continue;
        }
        if (isa<OutputOp>(user))
          return user->emitError()
                 << "phiq-rotate-residual: the model returns the rotated "
                    "residual stream itself";
        return user->emitError()
               << "phiq-rotate-residual: the residual stream feeds this op, "
                  "which the rotation cannot be folded into";
      }
    }
    return success();
  }

  LogicalResult rotate(ModelOp model) {
    if (output.empty())
      return model.emitError()
             << "phiq-rotate-residual writes the rotated weights to a store: "
                "give output=FILE";
    std::vector<Fold> folds;
    int64_t hidden = 0;
    if (failed(collect(model, folds, hidden)))
      return failure();

    // A weight read in two roles would need two tensors; the one case a
    // Phi model has is the tied embedding / lm_head table, which stays one
    // tensor only when the final norm folds in nothing but ones.
    llvm::DenseMap<Operation *, unsigned> uses;
    for (const Fold &f : folds)
      ++uses[f.operand->get().getDefiningOp()];
    for (const Fold &f : folds) {
      Operation *w = f.operand->get().getDefiningOp();
      if (uses[w] != unsigned(std::distance(w->getUses().begin(),
                                            w->getUses().end())))
        return w->emitError()
               << "phiq-rotate-residual: this weight is also read by ops "
                  "the rotation does not rewrite";
    }

    const std::vector<double> q =
        quant::residualRotation(hidden, static_cast<uint64_t>(seed));
    llvm::DenseMap<Operation *, std::vector<float>> rotated;
    std::vector<::phiq::FloatTensorJob> floats;
    llvm::StringSet<> names;
    for (const Fold &f : folds) {
      auto weight = cast<WeightOp>(f.operand->get().getDefiningOp());
      ArrayRef<int64_t> shape = weight.getType().getShape();
      auto values = mlir::phiq_ir::loadWeightFloats(weight);
      if (!values)
        return weight.emitError() << llvm::toString(values.takeError());
      std::vector<float> out(values->size());
      std::vector<float> g;
      if (WeightOp normWeight = f.norm) {
        auto norm = mlir::phiq_ir::loadWeightFloats(normWeight);
        if (!norm)
          return normWeight.emitError() << llvm::toString(norm.takeError());
        g = std::move(*norm);
      }
      switch (f.kind) {
      case Fold::Ones:
        std::fill(out.begin(), out.end(), 1.0f);
        break;
      case Fold::Embedding:
      case Fold::Inputs:
        if (shape.back() != hidden)
          return weight.emitError()
                 << "phiq-rotate-residual: rows of " << shape.back()
                 << " elements cannot take a rotation of the " << hidden
                 << "-wide residual stream";
        quant::rotateInputs(*values, int64_t(values->size()) / hidden, hidden,
                            g, q, out);
        break;
      case Fold::Outputs:
        if (shape.front() != hidden)
          return weight.emitError()
                 << "phiq-rotate-residual: " << shape.front()
                 << " output rows cannot take a rotation of the " << hidden
                 << "-wide residual stream";
        quant::rotateOutputs(*values, hidden,
                             int64_t(values->size()) / hidden, q, out);
        break;
      }
      auto [it, inserted] = rotated.try_emplace(weight, out);
      if (!inserted) {
        if (it->second != out)
          return weight.emitError()
                 << "phiq-rotate-residual: this weight (a tied embedding "
                    "table?) is read in two roles that rotate it "
                    "differently (the final norm's weight is not all ones)";
        continue;
      }
      std::string name = ::phiq::packJobName(weight, unsigned(floats.size()));
      // Two phi.weight ops of one key (a tie spelled twice) keep apart.
      while (!names.insert(name).second)
        name += ".rotated";
      floats.push_back({weight, name, std::move(out)});
      ++numRotated;
    }
    SmallVector<mlir::phiq_ir::QuantizeOp> none;
    return ::phiq::materializePackedWeights(model, none, {}, output,
                                            storeName, floats);
  }
};

} // namespace
