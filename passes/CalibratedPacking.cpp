//===- CalibratedPacking.cpp - GPTQ and AWQ in the quantization passes ----===//
//
// The checks come first and name the tensor at fault; AWQ's search runs
// next (one tensor at a time); the packers run last, inside
// materializePackedWeights, one tensor at a time (the weight's f32 values,
// its Hessian and its blocks are the memory held).
//
//===----------------------------------------------------------------------===//
#include "passes/CalibratedPacking.h"

#include "dialects/PhiQ/PackWeight.h"
#include "phiq/Params/Safetensors.h"
#include "phiq/Quant/AWQ.h"
#include "phiq/Quant/ActivationQuant.h"

#include "llvm/ADT/DenseMap.h"
#include "llvm/Support/FormatVariadic.h"

#include <cmath>
#include <cstring>
#include <memory>

using namespace mlir;
using namespace mlir::phi;
namespace params = ::phiq::params;
namespace quant = ::phiq::quant;

namespace {


/// The activation input of the (single) matmul reading `op`.
Value matmulInput(WeightOp op) {
  if (!op->hasOneUse())
    return {};
  Operation *user = *op->getUsers().begin();
  if (auto linear = dyn_cast<LinearOp>(user))
    return linear.getWeight() == op.getResult() ? linear.getInput() : Value();
  if (auto head = dyn_cast<LmHeadOp>(user))
    return head.getWeight() == op.getResult() ? head.getInput() : Value();
  return {};
}

/// Where AWQ folds a linear's input scale: a norm weight divided by s, or
/// rows [firstRow, firstRow + cols) of another linear's weight.
struct FoldTarget {
  WeightOp normWeight;
  WeightOp producerWeight;
  int64_t firstRow = 0;
};

/// The linear producing `v` when its weight has no other use and it has no
/// bias (a bias would need the same row scaling).
WeightOp producerWeight(Value v) {
  auto linear = v.getDefiningOp<LinearOp>();
  if (!linear || linear.getBias())
    return {};
  auto weight = linear.getWeight().getDefiningOp<WeightOp>();
  if (!weight || !weight->hasOneUse())
    return {};
  return weight;
}

std::optional<FoldTarget> foldTarget(Value input, int64_t cols) {
  if (!input || !input.hasOneUse())
    return std::nullopt;
  Operation *def = input.getDefiningOp();
  if (auto norm = dyn_cast_or_null<RmsNormOp>(def)) {
    auto weight = norm.getWeight().getDefiningOp<WeightOp>();
    if (norm.getBias() || !weight || !weight->hasOneUse() ||
        weight.getType().getRank() != 1 ||
        weight.getType().getShape()[0] != cols)
      return std::nullopt;
    return FoldTarget{weight, {}, 0};
  }
  if (auto glu = dyn_cast_or_null<GluOp>(def)) {
    // [gate | up]: act(gate) * up is linear in up.
    WeightOp weight = producerWeight(glu.getInput());
    if (!weight || weight.getType().getShape()[0] != 2 * cols ||
        !glu.getInput().hasOneUse())
      return std::nullopt;
    return FoldTarget{{}, weight, cols};
  }
  if (auto attention = dyn_cast_or_null<AttentionOp>(def)) {
    // The output is a convex mix of v per head: scaling v's rows scales it,
    // but only when no v head is shared by several query heads.
    if (attention.getNumHeads() != attention.getNumKvHeads())
      return std::nullopt;
    auto v = dyn_cast<OpResult>(attention.getValue());
    auto split = v ? dyn_cast<SplitOp>(v.getOwner()) : SplitOp();
    if (!split || !split.getInput().hasOneUse() ||
        !attention.getValue().hasOneUse())
      return std::nullopt;
    WeightOp weight = producerWeight(split.getInput());
    if (!weight)
      return std::nullopt;
    int64_t first = 0;
    for (unsigned i = 0; i < v.getResultNumber(); ++i)
      first += cast<ShapedType>(split.getResult(i).getType()).getShape().back();
    if (cast<ShapedType>(v.getType()).getShape().back() != cols)
      return std::nullopt;
    return FoldTarget{{}, weight, first};
  }
  return std::nullopt;
}

std::string shapeText(llvm::ArrayRef<int64_t> shape) {
  if (shape.empty())
    return "a scalar";
  std::string text;
  llvm::raw_string_ostream os(text);
  llvm::interleave(shape, os, "x");
  return text;
}

/// How a job's float weight is transformed before it is packed.
struct JobPlan {
  std::vector<float> columnScale; // AWQ's s (empty: none)
  std::vector<float> rowScale;    // folds from the next linear (empty: none)
  const params::TensorRef *hessian = nullptr;
  /// Round-to-nearest's importance after AWQ: the mean squared activation
  /// of x / s (empty: none).
  std::vector<float> importance;
};

} // namespace

/// Does every use read the weight as a matrix multiplied by activations that
/// calibration saw (linears and the lm_head)? MoE experts are stacked and
/// the side store has no per-expert statistics; embeddings are lookups.
bool phiq::readByLinears(WeightOp op) {
  return !op.getResult().use_empty() &&
         llvm::all_of(op->getUsers(), [](Operation *user) {
           return isa<LinearOp, LmHeadOp>(user);
         });
}

LogicalResult phiq::applyCalibratedPacking(
    ModelOp model, MutableArrayRef<PackJob> jobs,
    const CalibratedOptions &options, StringRef output, StringRef passName,
    std::vector<FloatTensorJob> &floats) {
  const std::string &algorithm = options.algorithm;
  if (algorithm == "rtn")
    return success();
  const bool gptq = algorithm == "gptq" || algorithm == "awq+gptq";
  const bool awq = algorithm == "awq" || algorithm == "awq+gptq";
  const bool smooth = algorithm == "smoothquant";
  if (!gptq && !awq && !smooth)
    return model.emitError() << "unknown algorithm '" << algorithm
                             << "'; expected rtn, gptq, awq, awq+gptq or "
                                "smoothquant";
  if (smooth && !(options.smoothAlpha >= 0.0 && options.smoothAlpha <= 1.0))
    return model.emitError() << "smooth-alpha must be in [0, 1], got "
                             << options.smoothAlpha;
  if (options.calibration.empty())
    return model.emitError()
           << "algorithm=" << algorithm
           << " needs calibration=FILE, the side store --phiq-calibrate "
              "writes";
  if (output.empty())
    return model.emitError()
           << "algorithm=" << algorithm << " packs while " << passName
           << " runs (it needs a whole tensor at once); give output=FILE";
  if (!(options.gptq.damp >= 0.0))
    return model.emitError() << "gptq-damp must be non-negative";
  if (options.gptq.block < 1)
    return model.emitError() << "gptq-block must be positive";
  if (options.gptq.refits < 0)
    return model.emitError() << "gptq-refits must be non-negative";
  quant::GPTQOptions gptqBase = options.gptq;
  if (options.gptqImportance == "schur")
    gptqBase.importance = quant::GPTQImportance::Schur;
  else if (options.gptqImportance != "diagonal")
    return model.emitError() << "unknown gptq-importance '"
                             << options.gptqImportance
                             << "'; expected diagonal or schur";

  auto file = params::mapSafetensorsFile(options.calibration);
  if (!file)
    return model.emitError() << "cannot read the calibration store: "
                             << llvm::toString(file.takeError());
  auto store = std::make_shared<params::SafetensorsFile>(std::move(*file));
  llvm::StringMap<const params::TensorRef *> byName;
  for (const params::TensorRef &t : store->tensors)
    byName[t.name] = &t;

  // Looks up `<job>.<suffix>` with the given shape; diagnoses at the weight.
  auto statistic = [&](PackJob &job, StringRef suffix,
                       llvm::ArrayRef<int64_t> shape, StringRef hint,
                       bool scalar = false) -> const params::TensorRef * {
    std::string key = job.name + "." + suffix.str();
    auto it = byName.find(key);
    if (it == byName.end()) {
      job.op.emitError() << "tensor '" << job.name
                         << "': the calibration store " << options.calibration
                         << " has no '" << key << "'" << hint;
      return nullptr;
    }
    const params::TensorRef *t = it->second;
    if (scalar) {
      // The token count: one number, f32 or i64.
      if (t->numElements() == 1 && (t->dtype == params::DType::F32 ||
                                    t->dtype == params::DType::I64))
        return t;
      job.op.emitError() << "tensor '" << job.name << "': '" << key
                         << "' must hold one f32 or i64 number";
      return nullptr;
    }
    if (llvm::ArrayRef<int64_t>(t->shape) != shape) {
      job.op.emitError() << "tensor '" << job.name << "': '" << key
                         << "' is " << shapeText(t->shape)
                         << ", but the weight's rows have " << job.shape.back()
                         << " elements (" << shapeText(shape)
                         << " expected; a calibration of another model?)";
      return nullptr;
    }
    if (t->dtype != params::DType::F32) {
      job.op.emitError() << "tensor '" << job.name << "': '" << key
                         << "' must be f32";
      return nullptr;
    }
    return t;
  };
  auto floatsOf = [](const params::TensorRef *t) {
    // A copy: safetensors data need not be aligned for floats.
    std::vector<float> v(static_cast<size_t>(t->numElements()));
    params::convertToF32(params::DType::F32, t->data.data(), v.data(),
                         t->numElements());
    return v;
  };

  std::vector<JobPlan> plans(jobs.size());
  llvm::DenseMap<Operation *, size_t> jobOf;
  for (size_t i = 0; i < jobs.size(); ++i)
    jobOf[jobs[i].op] = i;

  bool failedAny = false;
  struct AwqInput {
    size_t job;
    FoldTarget target;
    const params::TensorRef *sumsq, *count;
  };
  std::vector<AwqInput> awqInputs;
  // SmoothQuant: every linear's input abs-max, and where its scale folds.
  struct SmoothInput {
    size_t job;
    std::optional<FoldTarget> target;
    const params::TensorRef *absmax;
  };
  std::vector<SmoothInput> smoothInputs;
  for (size_t i = 0; i < jobs.size(); ++i) {
    PackJob &job = jobs[i];
    if (!readByLinears(job.op))
      continue;
    const int64_t cols = job.shape.back();
    if (gptq) {
      plans[i].hessian =
          statistic(job, "hessian", {cols, cols}, " (calibrate with hessian=true)");
      failedAny |= !plans[i].hessian;
    } else if (byName.count(job.name + ".hessian")) {
      plans[i].hessian = statistic(job, "hessian", {cols, cols}, "");
      failedAny |= !plans[i].hessian;
    }
    if (!awq && !smooth)
      continue;
    std::optional<FoldTarget> target = foldTarget(matmulInput(job.op), cols);
    if (target && target->producerWeight &&
        !jobOf.count(target->producerWeight))
      target.reset(); // the producer stays float: nothing to fold into
    if (smooth) {
      const params::TensorRef *absmax = statistic(job, "in_absmax", {cols}, "");
      failedAny |= !absmax;
      if (absmax)
        smoothInputs.push_back({i, target, absmax});
      continue;
    }
    if (!target)
      continue;
    const params::TensorRef *sumsq = statistic(job, "in_sumsq", {cols}, "");
    const params::TensorRef *count =
        statistic(job, "count", {1}, "", /*scalar=*/true);
    failedAny |= !sumsq || !count;
    if (sumsq && count)
      awqInputs.push_back({i, *target, sumsq, count});
  }
  if (failedAny)
    return failure();

  // Divides the producer of a linear's input by `scales`: the norm weight
  // (rewritten as f32 into the output store) or rows of the producing
  // linear (applied when that weight is packed).
  auto fold = [&](FoldTarget target, PackJob &job,
                  llvm::ArrayRef<float> scales) -> LogicalResult {
    const int64_t cols = job.shape.back();
    if (target.normWeight) {
      auto norm = mlir::phiq_ir::loadWeightFloats(target.normWeight);
      if (!norm)
        return target.normWeight.emitError()
               << llvm::toString(norm.takeError());
      for (int64_t c = 0; c < cols; ++c)
        (*norm)[c] /= scales[c];
      std::string name = algorithm + "." + job.name + ".input_scale_folded";
      if (auto param = dyn_cast<ParamAttr>(target.normWeight.getValue()))
        name = param.getKey().str();
      floats.push_back({target.normWeight, name, std::move(*norm)});
      return success();
    }
    JobPlan &producer = plans[jobOf[target.producerWeight]];
    const int64_t producerRows = target.producerWeight.getType().getShape()[0];
    if (producer.rowScale.empty())
      producer.rowScale.assign(static_cast<size_t>(producerRows), 1.0f);
    for (int64_t c = 0; c < cols; ++c)
      producer.rowScale[target.firstRow + c] /= scales[c];
    return success();
  };

  // AWQ: every scale from the original weights and statistics, so the
  // order of the folds does not matter (row scales commute with column
  // scales, and a row's blocks are row-scale equivariant up to rounding).
  for (AwqInput in : awqInputs) {
    PackJob &job = jobs[in.job];
    const int64_t cols = job.shape.back();
    const int64_t rows = job.op.getType().getNumElements() / cols;
    double tokens = 0.0;
    if (in.count->dtype == params::DType::I64) {
      int64_t n;
      std::memcpy(&n, in.count->data.data(), 8);
      tokens = double(n);
    } else {
      tokens = double(floatsOf(in.count)[0]);
    }
    if (!(tokens > 0.0))
      return job.op.emitError() << "tensor '" << job.name << "': '"
                                << job.name << ".count' is not positive";
    std::vector<float> sumsq = floatsOf(in.sumsq);
    std::vector<float> magnitude(sumsq.size());
    for (size_t c = 0; c < sumsq.size(); ++c)
      magnitude[c] = float(std::sqrt(std::max(0.0, double(sumsq[c]) / tokens)));
    auto weight = mlir::phiq_ir::loadWeightFloats(job.op);
    if (!weight)
      return job.op.emitError() << "tensor '" << job.name
                                << "': " << llvm::toString(weight.takeError());
    const bool full = plans[in.job].hessian != nullptr;
    std::vector<float> h = full ? floatsOf(plans[in.job].hessian) : sumsq;
    auto found = quant::awqSearch(job.format, *weight, rows, cols, magnitude,
                                  h, full);
    if (!found)
      return job.op.emitError() << "AWQ of '" << job.name
                                << "': " << llvm::toString(found.takeError());
    plans[in.job].importance = sumsq;
    if (found->alpha == 0.0f)
      continue; // s = 1: nothing to fold
    plans[in.job].columnScale = found->scales;
    for (int64_t c = 0; c < cols; ++c)
      plans[in.job].importance[c] /= found->scales[c] * found->scales[c];
    if (failed(fold(in.target, job, found->scales)))
      return failure();
  }

  // SmoothQuant: s = max|x|^alpha / max|W|^(1 - alpha) per input channel
  // (from the original weights, as AWQ's), folded the same way; a linear
  // with nowhere to fold keeps s = 1. Its static input range is then the
  // largest |x_c| / s_c.
  for (SmoothInput &in : smoothInputs) {
    PackJob &job = jobs[in.job];
    const int64_t cols = job.shape.back();
    const int64_t rows = job.op.getType().getNumElements() / cols;
    std::vector<float> absmax = floatsOf(in.absmax);
    std::vector<float> scales(static_cast<size_t>(cols), 1.0f);
    if (in.target) {
      auto weight = mlir::phiq_ir::loadWeightFloats(job.op);
      if (!weight)
        return job.op.emitError() << "tensor '" << job.name
                                  << "': " << llvm::toString(weight.takeError());
      std::vector<float> weightMax(static_cast<size_t>(cols));
      quant::columnAbsMax(*weight, rows, cols, weightMax);
      quant::smoothQuantScales(absmax, weightMax, options.smoothAlpha, scales);
      plans[in.job].columnScale = scales;
      if (failed(fold(*in.target, job, scales)))
        return failure();
    }
    float range = 0.0f;
    for (int64_t c = 0; c < cols; ++c)
      range = std::max(range, absmax[c] / scales[c]);
    if (options.activationAbsMax)
      (*options.activationAbsMax)[job.op] = range;
  }

  for (size_t i = 0; i < jobs.size(); ++i) {
    JobPlan plan = std::move(plans[i]);
    if (plan.columnScale.empty() && plan.rowScale.empty() && !gptq)
      continue;
    if (gptq && !plan.hessian)
      continue; // embeddings and experts: round-to-nearest
    PackJob &job = jobs[i];
    const int64_t cols = job.shape.back();
    const int64_t rows = job.op.getType().getNumElements() / cols;
    WeightOp weight = job.op;
    quant::BlockFormat format = job.format;
    std::string name = job.name;
    quant::GPTQOptions gptqOptions = gptqBase;
    std::string label = algorithm;
    job.pack = [store, plan = std::move(plan), weight, format, rows, cols,
                name, gptq, gptqOptions,
                label](MutableArrayRef<uint8_t> out) -> llvm::Error {
      auto fail = [&](llvm::Error e) {
        return llvm::createStringError(
            llvm::formatv("{0} of '{1}' as {2}: {3}", label, name,
                          quant::formatInfo(format).name,
                          llvm::toString(std::move(e))));
      };
      llvm::Expected<std::vector<float>> w =
          mlir::phiq_ir::loadWeightFloats(weight);
      if (!w)
        return fail(w.takeError());
      if (!plan.rowScale.empty())
        for (int64_t r = 0; r < rows; ++r)
          for (int64_t c = 0; c < cols; ++c)
            (*w)[r * cols + c] *= plan.rowScale[r];
      if (!plan.columnScale.empty())
        quant::scaleColumns(*w, rows, cols, plan.columnScale);
      if (!gptq) {
        if (llvm::Error e = quant::quantize(
                format, *w, rows, cols, out,
                plan.importance.empty() ? nullptr : plan.importance.data()))
          return fail(std::move(e));
        return llvm::Error::success();
      }
      std::vector<float> h(static_cast<size_t>(cols * cols));
      params::convertToF32(params::DType::F32, plan.hessian->data.data(),
                           h.data(), cols * cols);
      // The activations became x / s.
      if (!plan.columnScale.empty())
        quant::scaleHessian(h, cols, plan.columnScale);
      if (llvm::Error e =
              quant::gptqQuantize(format, *w, rows, cols, h, gptqOptions, out))
        return fail(std::move(e));
      return llvm::Error::success();
    };
  }
  return success();
}
