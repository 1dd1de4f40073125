//===- QuantizationReport.h - Per-tensor table and error plot ---*- C++ -*-===//
//
// `report=DIR` (phi-quantize --report DIR): what each quantized tensor got
// and what it costs, as report.md (a Markdown table), report.csv,
// report.json and error-by-layer.svg (the weighted error of each tensor,
// log scale, grouped by transformer layer and coloured by format; a plain
// SVG any browser opens). The folder is written under a temporary name
// and renamed into place, so a reader never sees half a report.
//
//===----------------------------------------------------------------------===//
#ifndef PHIQ_PASSES_QUANTIZATIONREPORT_H
#define PHIQ_PASSES_QUANTIZATIONREPORT_H

#include "llvm/ADT/ArrayRef.h"
#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"

#include <optional>
#include <string>

namespace phiq {

struct TensorReportRow {
  std::string tensor;
  /// Transformer layer, -1 for the embedding / lm_head.
  int layer = -1;
  std::string format;
  int64_t elements = 0, bytes = 0;
  /// Output error per calibration token at the chosen format, and that
  /// error over the output energy trace(W H W^T) / tokens.
  std::optional<double> weightedError, relativeError;
  /// The error at the reference format (what a uniform 4-bit file costs
  /// this tensor).
  std::optional<double> sensitivity;
  std::string referenceFormat;
};

struct QuantizationReport {
  std::string model, method, weighting;
  /// What target-bpw minimized ("relative" or "output").
  std::string sensitivity;
  double targetBpw = 0.0;
  /// Every parameter of the model, and the tensor data bytes (see
  /// MixedPrecision.h for what is counted).
  int64_t parameters = 0, tensorBytes = 0;
  std::vector<TensorReportRow> rows;
};

/// Writes the four files into `dir` (replacing an existing report there).
llvm::Error writeQuantizationReport(llvm::StringRef dir,
                                    const QuantizationReport &report);

/// The SVG alone (unit tests and the writer).
std::string errorByLayerSvg(const QuantizationReport &report);

} // namespace phiq

#endif // PHIQ_PASSES_QUANTIZATIONREPORT_H
