//===- MixedPrecision.cpp - Formats chosen by measured sensitivity --------===//
//
// Measure first (one tensor in memory at a time: its floats, its Hessian,
// one candidate's blocks), then allocate, then report. The measured cost of
// a candidate is the error of the very bytes the pass would write for it.
//
//===----------------------------------------------------------------------===//
#include "passes/MixedPrecision.h"
#include "passes/CalibratedPacking.h"
#include "passes/QuantizationReport.h"

#include "dialects/PhiQ/PackWeight.h"
#include "phiq/Calibration/Importance.h"
#include "phiq/Params/Safetensors.h"
#include "phiq/Quant/FormatAllocation.h"
#include "phiq/Target/GGUF/TensorNames.h"

#include "llvm/ADT/DenseMap.h"
#include "llvm/ADT/DenseSet.h"
#include "llvm/ADT/StringMap.h"
#include "llvm/Support/FormatVariadic.h"

#include <fmt/format.h>

#include <cstring>
#include <memory>

using namespace mlir;
using namespace mlir::phi;
namespace params = ::phiq::params;
namespace quant = ::phiq::quant;

namespace {


bool fits(quant::BlockFormat format, int64_t cols) {
  return cols % quant::formatInfo(format).blockElements == 0;
}

/// The calibration statistics of one weight.
struct Statistics {
  std::vector<float> hessian; // cols x cols, or empty
  std::vector<float> meanSquare; // cols: E[x^2] per column
  double tokens = 1.0;
};

/// A weight's costs: per candidate (bytes, error), plus what the report
/// shows.
struct Measured {
  size_t job;
  std::vector<quant::BlockFormat> formats;
  std::vector<quant::SizedCost> costs;
  double energy = 0.0;
  std::optional<double> reference;
  quant::BlockFormat referenceFormat{};
};

/// sum_r w_r^T H w_r (or with diag(H)), the output energy of W.
double outputEnergy(llvm::ArrayRef<float> w, int64_t rows, int64_t cols,
                    const Statistics &stats) {
  double total = 0.0;
  for (int64_t r = 0; r < rows; ++r) {
    const float *row = w.data() + r * cols;
    if (stats.hessian.empty()) {
      for (int64_t c = 0; c < cols; ++c)
        total += double(stats.meanSquare[c]) * row[c] * row[c];
      continue;
    }
    for (int64_t i = 0; i < cols; ++i) {
      double acc = 0.0;
      const float *h = stats.hessian.data() + i * cols;
      for (int64_t j = 0; j < cols; ++j)
        acc += double(h[j]) * row[j];
      total += acc * row[i];
    }
  }
  return stats.hessian.empty() ? total : total / stats.tokens;
}

} // namespace

LogicalResult phiq::parseFormats(ModelOp model, ArrayRef<std::string> names,
                                 StringRef option,
                                 std::vector<quant::BlockFormat> &formats) {
  for (const std::string &name : names) {
    std::optional<quant::BlockFormat> format = quant::parseBlockFormat(name);
    if (!format || quant::formatInfo(*format).blockElements == 1)
      return model.emitError() << option << ": '" << name
                               << "' is not a block format";
    formats.push_back(*format);
  }
  return success();
}

LogicalResult phiq::applyMixedPrecision(ModelOp model,
                                        MutableArrayRef<PackJob> jobs,
                                        const MixedPrecisionOptions &options) {
  const bool allocate = options.targetBpw != 0.0;
  if (!allocate && options.reportDir.empty())
    return success();
  if (allocate && !(options.targetBpw > 0.0))
    return model.emitError() << "target-bpw must be positive";
  if (options.algorithm != "rtn" && options.algorithm != "gptq")
    return model.emitError()
           << "target-bpw and report measure algorithm=rtn or gptq, not '"
           << options.algorithm << "'";
  const bool gptq = options.algorithm == "gptq";
  if (options.sensitivity != "relative" && options.sensitivity != "output")
    return model.emitError() << "sensitivity must be relative or output, not '"
                             << options.sensitivity << "'";
  const bool relative = options.sensitivity == "relative";

  // Statistics: Hessians from the calibration store, the diagonal from
  // whichever importance file there is (any of the three formats).
  std::string diagonalPath =
      !options.importance.empty() ? options.importance : options.calibration;
  if (diagonalPath.empty())
    return model.emitError()
           << (allocate ? "target-bpw" : "report")
           << " measures each tensor's error on calibration statistics: give "
              "calibration=FILE (a --phiq-calibrate store) or imatrix=FILE";
  auto table = ::phiq::calib::getOrOpenImportanceTable(diagonalPath);
  if (!table)
    return model.emitError() << llvm::toString(table.takeError());
  std::shared_ptr<params::SafetensorsFile> store;
  llvm::StringMap<const params::TensorRef *> byName;
  if (!options.calibration.empty()) {
    auto file = params::mapSafetensorsFile(options.calibration);
    if (!file)
      return model.emitError() << "cannot read the calibration store: "
                               << llvm::toString(file.takeError());
    store = std::make_shared<params::SafetensorsFile>(std::move(*file));
    for (const params::TensorRef &t : store->tensors)
      byName[t.name] = &t;
  }
  auto statisticsOf = [&](const PackJob &job,
                          int64_t cols) -> llvm::Expected<Statistics> {
    Statistics stats;
    auto mean = (*table)->lookup(job.name, cols);
    if (!mean)
      return mean.takeError();
    if (!*mean)
      return llvm::createStringError(llvm::formatv(
          "{0} has no statistics for it (calibrate this model)", diagonalPath));
    stats.meanSquare = std::move(**mean);
    auto h = byName.find(job.name + ".hessian");
    auto count = byName.find(job.name + ".count");
    if (h == byName.end() || count == byName.end())
      return stats;
    const params::TensorRef *t = h->second;
    if (t->dtype != params::DType::F32 ||
        llvm::ArrayRef<int64_t>(t->shape) != llvm::ArrayRef<int64_t>{cols, cols})
      return llvm::createStringError(llvm::formatv(
          "'{0}.hessian' is not f32 {1}x{1}", job.name, cols));
    stats.hessian.resize(size_t(cols * cols));
    params::convertToF32(params::DType::F32, t->data.data(),
                         stats.hessian.data(), cols * cols);
    const params::TensorRef *c = count->second;
    if (c->dtype == params::DType::I64 && c->numElements() == 1) {
      int64_t n;
      std::memcpy(&n, c->data.data(), 8);
      stats.tokens = double(n);
    } else if (c->dtype == params::DType::F32 && c->numElements() == 1) {
      float n;
      std::memcpy(&n, c->data.data(), 4);
      stats.tokens = double(n);
    }
    if (!(stats.tokens > 0.0))
      return llvm::createStringError(
          llvm::formatv("'{0}.count' is not positive", job.name));
    return stats;
  };

  // The error of `format`'s bytes for this weight, as the pass packs them.
  auto measure = [&](quant::BlockFormat format, llvm::ArrayRef<float> w,
                     int64_t rows, int64_t cols,
                     const Statistics &stats) -> llvm::Expected<double> {
    auto bytes = quant::rowBytes(format, cols);
    if (!bytes)
      return bytes.takeError();
    std::vector<uint8_t> blocks(size_t(rows * *bytes));
    llvm::Error packed =
        gptq && !stats.hessian.empty()
            ? quant::gptqQuantize(format, w, rows, cols, stats.hessian,
                                  options.gptq, blocks)
            : quant::quantize(format, w, rows, cols, blocks,
                              options.importance.empty()
                                  ? nullptr
                                  : stats.meanSquare.data());
    if (packed)
      return std::move(packed);
    if (stats.hessian.empty())
      return quant::weightedSquaredError(format, w, rows, cols, blocks,
                                         stats.meanSquare.data());
    return quant::hessianWeightedError(format, w, rows, cols, stats.hessian,
                                       blocks) /
           stats.tokens;
  };

  bool anyHessian = false, anyDiagonal = false;
  std::vector<Measured> measured;
  for (size_t i = 0; i < jobs.size(); ++i) {
    PackJob &job = jobs[i];
    if (!::phiq::readByLinears(job.op) ||
        quant::formatInfo(job.format).blockElements == 1)
      continue;
    const int64_t cols = job.shape.back();
    const int64_t rows = job.op.getType().getNumElements() / cols;
    Measured m{i, {}, {}, 0.0, std::nullopt, job.format};
    if (allocate) {
      for (quant::BlockFormat f : options.candidates)
        if (fits(f, cols))
          m.formats.push_back(f);
    }
    if (m.formats.empty())
      m.formats.push_back(job.format); // not reallocated: measured as it is
    auto fail = [&](llvm::Error e) {
      return job.op.emitError() << "tensor '" << job.name
                                << "': " << llvm::toString(std::move(e));
    };
    auto stats = statisticsOf(job, cols);
    if (!stats)
      return fail(stats.takeError());
    (stats->hessian.empty() ? anyDiagonal : anyHessian) = true;
    auto w = mlir::phiq_ir::loadWeightFloats(job.op);
    if (!w)
      return fail(w.takeError());
    for (quant::BlockFormat f : m.formats) {
      auto error = measure(f, *w, rows, cols, *stats);
      if (!error)
        return fail(error.takeError());
      m.costs.push_back(
          {rows * llvm::cantFail(quant::rowBytes(f, cols)), *error});
    }
    for (quant::BlockFormat f : options.reference) {
      if (!fits(f, cols))
        continue;
      m.referenceFormat = f;
      auto it = llvm::find(m.formats, f);
      if (it != m.formats.end()) {
        m.reference = m.costs[size_t(it - m.formats.begin())].cost;
      } else {
        auto error = measure(f, *w, rows, cols, *stats);
        if (!error)
          return fail(error.takeError());
        m.reference = *error;
      }
      break;
    }
    m.energy = outputEnergy(*w, rows, cols, *stats);
    measured.push_back(std::move(m));
  }

  // The budget counts every parameter of the model.
  int64_t parameters = 0, fixedBytes = 0;
  llvm::DenseMap<Operation *, size_t> jobOf;
  for (size_t i = 0; i < jobs.size(); ++i)
    jobOf[jobs[i].op] = i;
  llvm::DenseSet<size_t> chosenJobs;
  for (const Measured &m : measured)
    if (m.formats.size() > 1 || allocate)
      chosenJobs.insert(m.job);
  model.walk([&](WeightOp op) {
    int64_t n = op.getType().getNumElements();
    parameters += n;
    auto it = jobOf.find(op);
    if (it == jobOf.end())
      fixedBytes += 4 * n;
    else if (!allocate || !chosenJobs.count(it->second))
      fixedBytes += jobs[it->second].bytes;
    // Quantized for some uses only (ONNX's tied lm_head): the float copy
    // stays for the others.
    if (it != jobOf.end() && !jobs[it->second].uses.empty())
      fixedBytes += 4 * n;
  });

  if (allocate) {
    const double budgetBits = options.targetBpw * double(parameters);
    int64_t budget = int64_t(budgetBits / 8.0) - fixedBytes;
    std::vector<std::vector<quant::SizedCost>> candidates;
    for (const Measured &m : measured) {
      candidates.push_back(m.costs);
      if (relative && m.energy > 0.0)
        for (quant::SizedCost &c : candidates.back())
          c.cost /= m.energy;
    }
    auto allocation = quant::allocateFormats(candidates, std::max<int64_t>(budget, 0));
    if (!allocation)
      return model.emitError()
             << "target-bpw=" << fmt::format("{}", options.targetBpw) << ": "
             << llvm::toString(allocation.takeError()) << " ("
             << parameters << " parameters; " << fixedBytes
             << " bytes go to tensors outside the choice)";
    for (size_t t = 0; t < measured.size(); ++t) {
      Measured &m = measured[t];
      size_t k = allocation->choice[t];
      jobs[m.job].format = m.formats[k];
      jobs[m.job].bytes = m.costs[k].bytes;
      // The report shows the chosen one first.
      std::swap(m.formats[0], m.formats[k]);
      std::swap(m.costs[0], m.costs[k]);
    }
  }
  if (options.reportDir.empty())
    return success();

  QuantizationReport report;
  report.model = model.getSymName().str();
  report.method = options.algorithm;
  report.sensitivity = options.sensitivity;
  report.weighting = anyHessian && anyDiagonal
                         ? "Hessian X^T X where present, else diagonal"
                     : anyHessian ? "Hessian X^T X"
                                  : "diagonal (mean squared activation)";
  report.targetBpw = options.targetBpw;
  report.parameters = parameters;
  report.tensorBytes = fixedBytes;
  llvm::DenseMap<size_t, const Measured *> measuredOf;
  for (const Measured &m : measured) {
    measuredOf[m.job] = &m;
    if (allocate)
      report.tensorBytes += m.costs[0].bytes;
  }
  for (size_t i = 0; i < jobs.size(); ++i) {
    const PackJob &job = jobs[i];
    TensorReportRow row;
    row.tensor = job.name;
    if (auto gguf = ::phiq::gguf::ggufTensorName(job.name))
      row.layer = gguf->layer;
    row.format = quant::formatInfo(job.format).name.str();
    WeightOp op = job.op;
    row.elements = op.getType().getNumElements();
    row.bytes = job.bytes;
    if (const Measured *m = measuredOf.lookup(i)) {
      row.weightedError = m->costs[0].cost;
      if (m->energy > 0.0)
        row.relativeError = m->costs[0].cost / m->energy;
      row.sensitivity = m->reference;
      if (m->reference)
        row.referenceFormat = quant::formatInfo(m->referenceFormat).name.str();
    }
    report.rows.push_back(std::move(row));
  }
  if (llvm::Error e = writeQuantizationReport(options.reportDir, report))
    return model.emitError() << "cannot write the report: "
                             << llvm::toString(std::move(e));
  return success();
}
