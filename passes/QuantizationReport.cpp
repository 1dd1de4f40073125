//===- QuantizationReport.cpp - Per-tensor table and error plot -----------===//
//
// Plain text formats written by hand: Markdown and CSV tables, llvm::json
// for the JSON, and an SVG bar chart (one bar per tensor in model order,
// log10 of the weighted error, a dot for the sensitivity).
//
//===----------------------------------------------------------------------===//
#include "passes/QuantizationReport.h"

#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/ScopeExit.h"
#include "llvm/ADT/SmallString.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/raw_ostream.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <iterator>
#include <system_error>

using namespace phiq;

namespace {

std::string number(const std::optional<double> &v) {
  return v ? fmt::format("{:.6g}", *v) : std::string();
}

double bitsPerWeight(const TensorReportRow &row) {
  return row.elements ? 8.0 * double(row.bytes) / double(row.elements) : 0.0;
}

std::string xmlEscape(llvm::StringRef text) {
  std::string out;
  for (char c : text) {
    switch (c) {
    case '<': out += "&lt;"; break;
    case '>': out += "&gt;"; break;
    case '&': out += "&amp;"; break;
    case '"': out += "&quot;"; break;
    case '\'': out += "&apos;"; break;
    default: out += c;
    }
  }
  return out;
}

std::string csvField(llvm::StringRef text) {
  if (text.find_first_of(",\"\n") == llvm::StringRef::npos)
    return text.str();
  std::string out = "\"";
  for (char c : text)
    out += c == '"' ? std::string("\"\"") : std::string(1, c);
  return out + "\"";
}

std::string totalBpw(const QuantizationReport &report) {
  return report.parameters
             ? fmt::format("{:.4f}", 8.0 * double(report.tensorBytes) /
                                         double(report.parameters))
             : std::string("-");
}

std::string markdown(const QuantizationReport &report) {
  std::string out = fmt::format("# Quantization report: {}\n\n", report.model);
  out += fmt::format("- method: {}; errors weighted by: {}\n", report.method,
                     report.weighting);
  if (report.targetBpw > 0)
    out += fmt::format("- target: {} bits per parameter of tensor data, "
                       "least summed {} error\n",
                       report.targetBpw, report.sensitivity);
  out += fmt::format("- tensor data: {} bytes for {} parameters, {} bits per "
                     "parameter\n",
                     report.tensorBytes, report.parameters, totalBpw(report));
  out += "- weighted error: output error per calibration token, "
         "|(W - Q) x|^2 averaged over the calibration inputs x; relative: "
         "over |W x|^2; sensitivity: the weighted error at the reference "
         "format\n\n";
  out += "| tensor | layer | format | bits | weighted error | relative error "
         "| sensitivity | reference |\n";
  out += "|---|---:|---|---:|---:|---:|---:|---|\n";
  for (const TensorReportRow &row : report.rows)
    out += fmt::format("| {} | {} | {} | {:.4f} | {} | {} | {} | {} |\n",
                       row.tensor, row.layer < 0 ? std::string("-")
                                                 : std::to_string(row.layer),
                       row.format, bitsPerWeight(row),
                       number(row.weightedError), number(row.relativeError),
                       number(row.sensitivity), row.referenceFormat);
  return out;
}

std::string csv(const QuantizationReport &report) {
  std::string out = "tensor,layer,format,elements,bytes,bits,weighted_error,"
                    "relative_error,sensitivity,reference_format\n";
  for (const TensorReportRow &row : report.rows)
    out += fmt::format("{},{},{},{},{},{:.6f},{},{},{},{}\n",
                       csvField(row.tensor), row.layer, row.format,
                       row.elements, row.bytes, bitsPerWeight(row),
                       number(row.weightedError), number(row.relativeError),
                       number(row.sensitivity), row.referenceFormat);
  return out;
}

std::string json(const QuantizationReport &report) {
  llvm::json::Array rows;
  auto optional = [](const std::optional<double> &v) -> llvm::json::Value {
    return v ? llvm::json::Value(*v) : llvm::json::Value(nullptr);
  };
  for (const TensorReportRow &row : report.rows)
    rows.push_back(llvm::json::Object{
        {"tensor", row.tensor},
        {"layer", row.layer},
        {"format", row.format},
        {"elements", row.elements},
        {"bytes", row.bytes},
        {"bits", bitsPerWeight(row)},
        {"weighted_error", optional(row.weightedError)},
        {"relative_error", optional(row.relativeError)},
        {"sensitivity", optional(row.sensitivity)},
        {"reference_format", row.referenceFormat},
    });
  llvm::json::Object root{
      {"model", report.model},
      {"method", report.method},
      {"sensitivity", report.sensitivity},
      {"weighting", report.weighting},
      {"target_bpw", report.targetBpw},
      {"parameters", report.parameters},
      {"tensor_bytes", report.tensorBytes},
      {"tensors", std::move(rows)},
  };
  std::string out;
  llvm::raw_string_ostream os(out);
  os << llvm::formatv("{0:2}", llvm::json::Value(std::move(root))) << "\n";
  return out;
}

/// Fixed colours, handed out to formats in order of first appearance.
constexpr const char *palette[] = {"#4477aa", "#ee6677", "#228833", "#ccbb44",
                                   "#66ccee", "#aa3377", "#bbbbbb", "#000000"};

} // namespace

std::string phiq::errorByLayerSvg(const QuantizationReport &report) {
  const double barWidth = 12, left = 70, top = 40, plotHeight = 300;
  const double legendWidth = 170;
  const size_t n = report.rows.size();
  const double plotWidth = std::max(1.0, double(n)) * barWidth;
  const double width = left + plotWidth + legendWidth, height = top + plotHeight + 90;

  // log10 range over the errors and sensitivities that are positive.
  double lo = HUGE_VAL, hi = -HUGE_VAL;
  for (const TensorReportRow &row : report.rows)
    for (const std::optional<double> &v : {row.weightedError, row.sensitivity})
      if (v && *v > 0) {
        lo = std::min(lo, std::log10(*v));
        hi = std::max(hi, std::log10(*v));
      }
  if (lo > hi)
    lo = -1, hi = 0;
  lo = std::floor(lo), hi = std::max(lo + 1, std::ceil(hi));
  auto y = [&](double v) {
    return top + plotHeight * (1.0 - (std::log10(v) - lo) / (hi - lo));
  };

  std::vector<std::string> formats;
  auto colour = [&](const std::string &format) {
    auto it = llvm::find(formats, format);
    size_t i = size_t(it - formats.begin());
    if (it == formats.end())
      formats.push_back(format);
    return palette[i % std::size(palette)];
  };

  std::string out = fmt::format(
      "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
      "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{0:.0f}\" "
      "height=\"{1:.0f}\" viewBox=\"0 0 {0:.0f} {1:.0f}\" "
      "font-family=\"sans-serif\" font-size=\"11\">\n"
      "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n"
      "<text x=\"{2:.0f}\" y=\"20\" font-size=\"14\">{3}: weighted output "
      "error per tensor ({4}, log scale)</text>\n",
      width, height, left, xmlEscape(report.model), xmlEscape(report.method));
  // Grid lines and the y axis labels, one per decade.
  for (int d = int(lo); d <= int(hi); ++d) {
    double yy = y(std::pow(10.0, d));
    out += fmt::format("<line x1=\"{0:.1f}\" y1=\"{1:.1f}\" x2=\"{2:.1f}\" "
                       "y2=\"{1:.1f}\" stroke=\"#dddddd\"/>\n"
                       "<text x=\"{3:.1f}\" y=\"{4:.1f}\" "
                       "text-anchor=\"end\">1e{5}</text>\n",
                       left, yy, left + plotWidth, left - 6, yy + 4, d);
  }
  // Bars; a vertical rule and a label where a layer starts.
  int layer = -2;
  for (size_t i = 0; i < n; ++i) {
    const TensorReportRow &row = report.rows[i];
    double x = left + double(i) * barWidth;
    if (row.layer != layer) {
      layer = row.layer;
      out += fmt::format(
          "<line x1=\"{0:.1f}\" y1=\"{1:.1f}\" x2=\"{0:.1f}\" y2=\"{2:.1f}\" "
          "stroke=\"#999999\" stroke-dasharray=\"3,3\"/>\n"
          "<text x=\"{3:.1f}\" y=\"{4:.1f}\">{5}</text>\n",
          x, top, top + plotHeight, x + 2, top + plotHeight + 16,
          layer < 0 ? std::string("-") : "L" + std::to_string(layer));
    }
    const char *fill = colour(row.format);
    if (row.weightedError && *row.weightedError > 0) {
      double yy = std::max(top, y(*row.weightedError));
      out += fmt::format(
          "<rect x=\"{0:.1f}\" y=\"{1:.1f}\" width=\"{2:.1f}\" "
          "height=\"{3:.1f}\" fill=\"{4}\"><title>{5}: {6}, {7:.2f} bits, "
          "error {8}</title></rect>\n",
          x + 1, yy, barWidth - 2, top + plotHeight - yy, fill,
          xmlEscape(row.tensor), xmlEscape(row.format), bitsPerWeight(row),
          number(row.weightedError));
    }
    if (row.sensitivity && *row.sensitivity > 0)
      out += fmt::format("<circle cx=\"{0:.1f}\" cy=\"{1:.1f}\" r=\"3\" "
                         "fill=\"none\" stroke=\"black\"><title>{2}: {3} "
                         "{4}</title></circle>\n",
                         x + barWidth / 2, std::max(top, y(*row.sensitivity)),
                         xmlEscape(row.tensor),
                         xmlEscape(row.referenceFormat),
                         number(row.sensitivity));
  }
  out += fmt::format("<line x1=\"{0:.1f}\" y1=\"{1:.1f}\" x2=\"{0:.1f}\" "
                     "y2=\"{2:.1f}\" stroke=\"black\"/>\n"
                     "<line x1=\"{0:.1f}\" y1=\"{2:.1f}\" x2=\"{3:.1f}\" "
                     "y2=\"{2:.1f}\" stroke=\"black\"/>\n",
                     left, top, top + plotHeight, left + plotWidth);
  out += fmt::format("<text x=\"{0:.1f}\" y=\"{1:.1f}\">tensors in model "
                     "order, by layer</text>\n",
                     left, top + plotHeight + 40);
  // Legend: the formats, then the sensitivity dot.
  double lx = left + plotWidth + 20, ly = top + 10;
  for (size_t i = 0; i < formats.size(); ++i, ly += 18)
    out += fmt::format("<rect x=\"{0:.1f}\" y=\"{1:.1f}\" width=\"12\" "
                       "height=\"12\" fill=\"{2}\"/>\n<text x=\"{3:.1f}\" "
                       "y=\"{4:.1f}\">{5}</text>\n",
                       lx, ly, palette[i % std::size(palette)], lx + 18,
                       ly + 10, xmlEscape(formats[i]));
  out += fmt::format("<circle cx=\"{0:.1f}\" cy=\"{1:.1f}\" r=\"3\" "
                     "fill=\"none\" stroke=\"black\"/>\n<text x=\"{2:.1f}\" "
                     "y=\"{3:.1f}\">error at the reference format</text>\n",
                     lx + 6, ly + 6, lx + 18, ly + 10);
  out += "</svg>\n";
  return out;
}

llvm::Error phiq::writeQuantizationReport(llvm::StringRef dir,
                                          const QuantizationReport &report) {
  llvm::SmallString<256> temp;
  llvm::sys::fs::createUniquePath(dir + ".tmp-%%%%%%", temp,
                                  /*MakeAbsolute=*/false);
  if (std::error_code ec = llvm::sys::fs::create_directories(temp))
    return llvm::createFileError(temp, ec);
  llvm::scope_exit cleanUp(
      [&] { llvm::sys::fs::remove_directories(temp, /*IgnoreErrors=*/true); });
  const std::pair<const char *, std::string> files[] = {
      {"report.md", markdown(report)},
      {"report.csv", csv(report)},
      {"report.json", json(report)},
      {"error-by-layer.svg", errorByLayerSvg(report)},
  };
  for (const auto &[name, text] : files) {
    llvm::SmallString<256> path(temp);
    llvm::sys::path::append(path, name);
    std::error_code ec;
    llvm::raw_fd_ostream os(path, ec);
    if (ec)
      return llvm::createFileError(path, ec);
    os << text;
    os.close();
    if (os.has_error())
      return llvm::createFileError(path, os.error());
  }
  // An earlier report moves aside first: a directory cannot be renamed
  // over a non-empty one.
  llvm::SmallString<256> old;
  if (llvm::sys::fs::exists(dir)) {
    if (!llvm::sys::fs::is_directory(dir))
      return llvm::createFileError(
          dir, std::make_error_code(std::errc::not_a_directory));
    llvm::sys::fs::createUniquePath(dir + ".old-%%%%%%", old, false);
    if (std::error_code ec = llvm::sys::fs::rename(dir, old))
      return llvm::createFileError(dir, ec);
  }
  if (std::error_code ec = llvm::sys::fs::rename(temp, dir))
    return llvm::createFileError(dir, ec);
  if (!old.empty())
    llvm::sys::fs::remove_directories(old, /*IgnoreErrors=*/true);
  return llvm::Error::success();
}
