//===- Calibrate.cpp - Activation statistics of every linear layer --------===//
//
// --phiq-calibrate: run the model on calibration windows with the reference
// executor and summarize, per weight, what its inputs looked like
// (phiq/Quant/InputStatistics.h). The executor reports every matmul input
// through its linear-input observer; this pass only routes them to the
// right accumulator and writes the files (phiq/Calibration/Importance.h).
//
//===----------------------------------------------------------------------===//
#include "passes/PackedWeights.h"
#include "passes/Passes.h"
#include "passes/SingleModel.h"

#include "dialects/Phi/PhiOps.h"
#include "phiq/Calibration/Importance.h"
#include "phiq/Quant/InputStatistics.h"
#include "phiq/Runtime/Executor.h"
#include "phiq/Tokenizer/Tokenizer.h"

#include "mlir/IR/Builders.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"

#include <cstring>
#include <deque>

namespace phiq {
#define GEN_PASS_DEF_CALIBRATE
#include "passes/Passes.h.inc"
} // namespace phiq

#define DEBUG_TYPE "phiq-calibrate"

using namespace mlir;
using namespace mlir::phi;
namespace quant = ::phiq::quant;
namespace calib = ::phiq::calib;

namespace {

/// The accumulators of one weight (one per expert of a stacked tensor).
struct Collector {
  std::string key;
  int64_t cols = 0;
  std::deque<quant::InputStatistics> mats;
};

struct Calibrate : ::phiq::impl::CalibrateBase<Calibrate> {
  using Base::Base;

  void runOnOperation() override {
    FailureOr<ModelOp> model =
        ::phiq::getSingleModel(getOperation(), "phiq-calibrate");
    if (failed(model) || failed(calibrate(*model)))
      signalPassFailure();
  }

  /// The folder whose tokenizer encodes `text`.
  std::string tokenizerFolder(ModelOp model) {
    if (!tokenizerDir.empty())
      return tokenizerDir;
    for (NamedAttribute store : model.getStores())
      if (auto path = dyn_cast<StringAttr>(store.getValue()))
        return llvm::sys::fs::is_directory(path.getValue())
                   ? path.getValue().str()
                   : llvm::sys::path::parent_path(path.getValue()).str();
    return ".";
  }

  FailureOr<std::vector<int32_t>> loadTokens(ModelOp model) {
    if (tokens.empty() == text.empty()) {
      model.emitError() << "phiq-calibrate needs exactly one of tokens=FILE "
                           "(int32 ids) or text=FILE";
      return failure();
    }
    std::vector<int32_t> ids;
    const std::string &file = tokens.empty() ? text : tokens;
    auto buffer = llvm::MemoryBuffer::getFile(file, /*IsText=*/false,
                                              /*RequiresNullTerminator=*/false);
    if (!buffer) {
      model.emitError() << "cannot read calibration "
                        << (tokens.empty() ? "text" : "tokens") << " '" << file
                        << "': " << buffer.getError().message();
      return failure();
    }
    StringRef bytes = (*buffer)->getBuffer();
    if (!tokens.empty()) {
      if (bytes.size() % 4 != 0) {
        model.emitError() << "calibration tokens '" << file << "': "
                          << bytes.size()
                          << " bytes is not a whole number of int32 ids";
        return failure();
      }
      ids.resize(bytes.size() / 4);
      std::memcpy(ids.data(), bytes.data(), bytes.size());
    } else {
      auto tokenizer = ::phiq::tok::Tokenizer::load(tokenizerFolder(model));
      if (!tokenizer) {
        model.emitError() << "cannot tokenize '" << file
                          << "': " << llvm::toString(tokenizer.takeError());
        return failure();
      }
      ids = (*tokenizer)->encode(bytes);
    }
    const int64_t vocab = model.getConfig().getVocabSize();
    for (size_t i = 0; i < ids.size(); ++i)
      if (ids[i] < 0 || ids[i] >= vocab) {
        model.emitError() << "calibration tokens '" << file << "': id "
                          << ids[i] << " at position " << i
                          << " is outside the model's vocabulary [0, "
                          << vocab << ")";
        return failure();
      }
    if (seqLen < 1 || int64_t(ids.size()) < seqLen) {
      model.emitError() << "calibration tokens '" << file << "' hold "
                        << ids.size() << " ids, less than one window of "
                        << int64_t(seqLen) << " (seq-len)";
      return failure();
    }
    return ids;
  }

  LogicalResult calibrate(ModelOp model) {
    if (output.empty())
      return model.emitError()
             << "phiq-calibrate needs output=FILE for the statistics";
    FailureOr<std::vector<int32_t>> ids = loadTokens(model);
    if (failed(ids))
      return failure();
    int64_t windows = int64_t(ids->size()) / seqLen;
    if (maxWindows > 0)
      windows = std::min<int64_t>(windows, maxWindows);

    // One collector per weight that multiplies activations, named as the
    // quantization passes name it (the checkpoint key, or inline.N).
    std::vector<Collector> collectors;
    llvm::DenseMap<Value, size_t> byWeight;
    unsigned index = 0;
    model.walk([&](WeightOp op) {
      std::string name = ::phiq::packJobName(op, index++);
      bool linear = false, stackedExperts = false;
      for (Operation *user : op->getUsers()) {
        if (isa<LinearOp>(user) || (lmHead && isa<LmHeadOp>(user)))
          linear = true;
        if (auto experts = dyn_cast<MoeExpertsOp>(user)) {
          linear = true;
          stackedExperts = experts.isStacked();
        }
      }
      if (!linear || op.getType().getRank() < 2)
        return;
      Collector c;
      c.key = name;
      c.cols = op.getType().getShape().back();
      int64_t nmat = stackedExperts ? op.getType().getShape().front() : 1;
      for (int64_t m = 0; m < nmat; ++m)
        c.mats.emplace_back(c.cols, hessian);
      byWeight[op.getResult()] = collectors.size();
      collectors.push_back(std::move(c));
    });
    if (collectors.empty())
      return model.emitError() << "phiq-calibrate: the model has no linear "
                                  "weights to calibrate";

    auto executor = ::phiq::rt::Executor::create(model);
    if (!executor)
      return model.emitError() << llvm::toString(executor.takeError());
    (*executor)->setLinearInputObserver(
        [&](Value weight, int64_t expert, ArrayRef<float> input, int64_t rows,
            int64_t cols) {
          auto it = byWeight.find(weight);
          if (it == byWeight.end())
            return; // the lm_head when lm-head=false
          Collector &c = collectors[it->second];
          c.mats[expert < 0 ? 0 : size_t(expert)].accumulate(input, rows);
        });
    std::vector<float> logits;
    for (int64_t w = 0; w < windows; ++w) {
      std::vector<::phiq::rt::KVCache> caches(1, ::phiq::rt::KVCache(**executor));
      if (llvm::Error e = (*executor)->forward(
              ArrayRef<int32_t>(*ids).slice(w * seqLen, seqLen), 1, seqLen,
              caches, logits))
        return model.emitError() << "calibration window " << w << ": "
                                 << llvm::toString(std::move(e));
    }
    numTokens += windows * seqLen;

    std::vector<calib::WeightStatistics> stats;
    for (Collector &c : collectors) {
      calib::WeightStatistics s;
      s.key = c.key;
      s.cols = c.cols;
      s.nmat = int64_t(c.mats.size());
      for (quant::InputStatistics &m : c.mats) {
        if (m.numNonFiniteRows() > 0)
          model.emitWarning() << "calibration: " << m.numNonFiniteRows()
                              << " input rows of '" << c.key
                              << "' were not finite and were skipped";
        llvm::append_range(s.sumsq, m.sumOfSquares());
        llvm::append_range(s.absmax, m.absMax());
        s.counts.push_back(float(m.count() - m.numNonFiniteRows()));
        if (hessian)
          llvm::append_range(s.hessian, m.hessian());
      }
      stats.push_back(std::move(s));
    }
    numWeights += stats.size();

    std::string source = tokens.empty() ? text : tokens;
    if (llvm::Error e = calib::writeStatisticsFile(
            output, stats,
            {{"format", "phiq-calibration"},
             {"dataset", source},
             {"windows", std::to_string(windows)},
             {"seq_len", std::to_string(int64_t(seqLen))}}))
      return model.emitError() << llvm::toString(std::move(e));
    if (!imatrix.empty()) {
      auto entries = calib::toImatrixEntries(stats);
      if (!entries)
        return model.emitError() << llvm::toString(entries.takeError());
      calib::ImatrixInfo info{{source}, uint32_t(windows), uint32_t(seqLen)};
      llvm::Error e = StringRef(imatrix).ends_with(".dat")
                          ? calib::writeImatrixLegacy(imatrix, *entries, info)
                          : calib::writeImatrixGGUF(imatrix, *entries, info);
      if (e)
        return model.emitError() << llvm::toString(std::move(e));
    }

    // Later passes find the statistics through the model.
    SmallString<256> path(output);
    llvm::sys::fs::make_absolute(path);
    Builder b(model.getContext());
    NamedAttrList stores(model.getStores());
    stores.set(storeName, b.getStringAttr(path));
    model.setStoresAttr(stores.getDictionary(model.getContext()));
    model->setAttr("phiq.calibration_stats", b.getStringAttr(path));
    return success();
  }
};

} // namespace
