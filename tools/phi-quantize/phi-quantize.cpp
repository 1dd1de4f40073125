//===- phi-quantize.cpp - One-shot quantizer --------------------*- C++ -*-===//
//
//   phi-quantize MODEL --to gguf --type Q4_K_M -o out.gguf
//
// Imports MODEL (a Hugging Face folder or a .mlir file), decides each
// weight's format with --phiq-quantize-weights (llama-quantize's mixtures,
// per-tensor overrides, fallbacks), then writes the GGUF file through a
// temporary file, quantizing each tensor straight from the mapped checkpoint
// into the file: one pass over the weights, memory of one tensor. Prints a
// progress bar on a terminal and a table per tensor: format, bytes, bits
// per weight and the relative RMS error of the quantized weight.
//
// With --calib TOKENS the model first runs on calibration tokens
// (--phiq-calibrate) and every block format minimizes the error weighted by
// the mean squared activation of each input column (llama.cpp's importance
// matrix); --imatrix FILE takes those statistics from a file instead (ours
// or llama-imatrix's, GGUF or legacy .dat).
//
//===----------------------------------------------------------------------===//
#include "dialects/Phi/PhiOps.h"
#include "dialects/PhiQ/PhiQOps.h"
#include "passes/Passes.h"
#include "phiq/InitAll.h"
#include "phiq/Quant/BlockFormat.h"
#include "phiq/Target/GGUF/ExportGGUF.h"
#include "phiq/Target/GGUF/ImportGGUF.h"
#include "phiq/Target/HF/Import.h"
#include "phiq/Target/MLX/ExportMLX.h"
#include "phiq/Target/MLX/ImportMLX.h"
#include "phiq/Target/ONNX/ExportONNX.h"
#include "phiq/Target/OpenVINO/ExportOpenVINO.h"
#include "phiq/Target/OpenVINO/ImportOpenVINO.h"

#include "mlir/IR/DialectRegistry.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/Parser/Parser.h"
#include "mlir/Pass/PassManager.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/FileUtilities.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/SourceMgr.h"
#include "llvm/Support/WithColor.h"

#include <fmt/format.h>

#include <chrono>
#include <cmath>
#include <optional>

using namespace mlir;
namespace cl = llvm::cl;

static cl::opt<std::string>
    input(cl::Positional, cl::Required,
          cl::desc("<Hugging Face folder, mlx-lm folder, OpenVINO IR folder, "
                   "GGUF file or .mlir>"));
static cl::opt<std::string>
    target("to", cl::desc("output format: gguf (a file), onnx (an ONNX "
                          "Runtime GenAI folder), openvino (an OpenVINO IR "
                          "folder for openvino-genai) or mlx (an mlx-lm "
                          "folder)"),
           cl::init("gguf"));
static cl::opt<std::string>
    type("type",
         cl::desc("gguf: a llama.cpp file type (Q4_K_M, Q8_0, ...); onnx: "
                  "F32, F16, BF16 (bf16 weights, fp32 compute), INT4 or INT8 "
                  "(MatMulNBits), or Q4_0 / Q8_0 (llama.cpp's blocks, the "
                  "same weights as the GGUF file); "
                  "openvino: F32, F16, INT4_ASYM or INT4_SYM (NNCF's "
                  "groups), INT8_ASYM (NNCF's, per channel); mlx: F32, F16, "
                  "BF16, or INT2..INT8 (MLX affine groups)"),
         cl::init("Q4_K_M"));
static cl::opt<std::string> output("o", cl::Required,
                                   cl::desc("output file"));
static cl::list<std::string>
    tensorTypes("tensor-type", cl::desc("override REGEX=TYPE (repeatable)"));
static cl::opt<bool> pure("pure", cl::desc("no mixture rules"));
static cl::opt<bool> noFallback("no-fallback",
                                cl::desc("fail instead of falling back"));
static cl::opt<bool> quiet("quiet", cl::desc("no per-tensor table"));
static cl::opt<int64_t> blockSize("block-size",
                                  cl::desc("onnx INT4/INT8: elements per scale "
                                           "(16, 32, 64, 128)"),
                                  cl::init(32));
static cl::opt<int64_t>
    groupSize("group-size",
              cl::desc("openvino INT4_ASYM/INT4_SYM: elements per scale (64 "
                       "or 128; default 128); mlx INT<bits>: elements per "
                       "scale and bias (32, 64 or 128; default 64)"),
              cl::init(0));
static cl::opt<bool> allowRequantize(
    "allow-requantize",
    cl::desc("re-quantize weights already in formats the target cannot "
             "hold exactly (openvino: to f16; mlx: to its groups; gguf, "
             "onnx: an MLX folder's groups to Q4_1/Q8_0, 4-bit "
             "MatMulNBits) instead of refusing them, reporting the error "
             "added"));
static cl::opt<bool> int8EmbeddingAndHead(
    "int8-embedding-and-head",
    cl::desc("openvino INT4_ASYM/INT4_SYM: NNCF's default mix, the "
             "embedding and the lm_head in INT8_ASYM per channel"));
static cl::opt<bool> symmetric("symmetric",
                               cl::desc("onnx INT4/INT8: no zero points"));
static cl::opt<int64_t>
    accuracyLevel("accuracy-level",
                  cl::desc("onnx: MatMulNBits accuracy_level (0..4)"),
                  cl::init(0));


static cl::opt<std::string>
    calibTokens("calib", cl::desc("calibrate on this int32 token file and "
                                  "quantize with importance"),
                cl::value_desc("TOKENS"));
static cl::opt<int64_t> calibSeqLen("calib-seq-len",
                                    cl::desc("--calib: tokens per window"),
                                    cl::init(512));
static cl::opt<std::string>
    calibStats("calib-stats",
               cl::desc("--calib: keep the statistics in this safetensors "
                        "file (default: a temporary file)"),
               cl::value_desc("FILE"));
static cl::opt<std::string>
    imatrixOut("imatrix-out",
               cl::desc("--calib: also write llama.cpp's imatrix (.dat: "
                        "legacy format, else GGUF)"),
               cl::value_desc("FILE"));
static cl::opt<bool> calibHessian(
    "calib-hessian",
    cl::desc("--calib: also collect X^T X per linear (cols^2 floats each), "
             "so --target-bpw and --report measure the full output error "
             "instead of its diagonal"));
static cl::opt<double> targetBpw(
    "target-bpw",
    cl::desc("gguf, onnx INT4/INT8: choose each linear's format by its "
             "measured error on the calibration data (--calib or --imatrix) "
             "so that the tensor data has at most this many bits per "
             "parameter"),
    cl::init(0.0));
static cl::list<std::string> mixedFormats(
    "mixed-formats",
    cl::desc("--target-bpw: the formats to choose from (gguf default: Q2_K, "
             "Q3_K, Q4_K, IQ4_NL, Q5_K, Q6_K, Q8_0; onnx: int4 and int8 at "
             "--block-size)"),
    cl::CommaSeparated);
static cl::opt<std::string> sensitivity(
    "sensitivity",
    cl::desc("--target-bpw minimizes the summed output error relative "
             "to each tensor's output energy (relative, the default) or "
             "the output error itself (output)"),
    cl::init("relative"));
static cl::opt<std::string> reportDir(
    "report",
    cl::desc("gguf, onnx INT4/INT8: write a per-tensor table (format, bits, "
             "weighted error, sensitivity) as Markdown, CSV and JSON and an "
             "SVG plot of the error by layer into this folder (needs --calib "
             "or --imatrix)"),
    cl::value_desc("DIR"));
static cl::opt<std::string>
    imatrix("imatrix",
            cl::desc("quantize with the importance of this statistics file "
                     "(phiq-calibrate's, or a llama.cpp imatrix)"),
            cl::value_desc("FILE"));

static cl::opt<std::string>
    progress("progress",
             cl::desc("progress bar on stderr: auto (when it is a terminal), "
                      "on, off"),
             cl::init("auto"));

namespace {

/// The --phiq-calibrate store whose Hessians --target-bpw / --report use
/// (--calib's statistics, or an --imatrix that is such a store).
std::string calibrationStore;

int fail(const llvm::Twine &message) {
  llvm::WithColor::error(llvm::errs(), "phi-quantize") << message << "\n";
  return 1;
}

/// A one-line progress bar redrawn in place on stderr.
class ProgressBar {
public:
  explicit ProgressBar(bool enabled) : enabled(enabled) {}

  void update(const phiq::gguf::WrittenTensor &tensor, double seconds) {
    bytes += tensor.bytes;
    if (!enabled)
      return;
    constexpr int width = 30;
    int filled = tensor.count ? int(width * tensor.index / tensor.count) : 0;
    llvm::errs() << fmt::format(
        "\r[{:<{}}] {}/{} tensors, {:.2f} GB written, {:.1f} s ",
        std::string(size_t(filled), '#'), width, tensor.index, tensor.count,
        double(bytes) / 1e9, seconds);
    if (tensor.index == tensor.count)
      llvm::errs() << "\n";
  }

private:
  bool enabled;
  uint64_t bytes = 0;
};

/// --to onnx: the type picks the pass (none for F32/F16, MatMulNBits
/// formats for INT4/INT8, llama.cpp's blocks for Q4_0/Q8_0), and the ONNX
/// The report of a weight an MLX folder held in a form the target cannot
/// hold exactly, quantized again under --allow-requantize.
void printRequantized(llvm::StringRef tensor, llvm::StringRef from,
                      llvm::StringRef to, double relativeRmse) {
  llvm::outs() << fmt::format("re-quantized {} from {} to {}: relative RMS "
                              "error {:.5f}\n",
                              tensor.str(), from.str(), to.str(), relativeRmse);
}

/// writer packs each deferred weight as it streams it to external data.
int writeONNX(ModuleOp module, MLIRContext *context) {
  PassManager pm(context);
  phiq::onnx::ExportOptions options;
  options.accuracyLevel = accuracyLevel;
  options.allowRequantize = allowRequantize;
  options.onRequantize = printRequantized;
  if (type == "F16") {
    options.precision = "fp16";
  } else if (type == "INT4" || type == "INT8") {
    phiq::QuantizeONNXOptions onnx;
    onnx.bits = type == "INT4" ? 4 : 8;
    onnx.blockSize = blockSize;
    onnx.symmetric = symmetric;
    onnx.imatrix = imatrix;
    onnx.targetBpw = targetBpw;
    onnx.sensitivity = sensitivity;
    onnx.mixedFormats.assign(mixedFormats.begin(), mixedFormats.end());
    onnx.report = reportDir;
    onnx.calibration = calibrationStore;
    pm.addPass(phiq::createQuantizeONNX(onnx));
  } else if (targetBpw != 0.0 || !reportDir.empty()) {
    return fail("--to onnx: --target-bpw and --report take --type INT4 or "
                "INT8");
  } else if (type == "Q4_0" || type == "Q8_0" || type == "BF16") {
    // llama.cpp's blocks (the GGUF file's weights, --tensor-type overrides
    // included), or bf16 weights, which the writer keeps bf16 behind a Cast
    // to fp32 (ONNX Runtime's CPU provider computes no decoder op in bf16).
    phiq::QuantizeWeightsOptions gguf;
    gguf.type = type;
    gguf.pure = true;
    gguf.tensorTypes.assign(tensorTypes.begin(), tensorTypes.end());
    gguf.imatrix = imatrix;
    pm.addPass(phiq::createQuantizeWeights(gguf));
  } else if (type != "F32") {
    return fail("--to onnx --type " + type +
                ": expected F32, F16, BF16, INT4, INT8, Q4_0 or Q8_0");
  }
  if (!tensorTypes.empty() && type != "Q4_0" && type != "Q8_0" &&
      type != "BF16")
    return fail("--to onnx: --tensor-type applies to --type Q4_0, Q8_0 "
                "and BF16 only");
  if (failed(pm.run(module)))
    return fail("quantization failed (see above)");
  auto start = std::chrono::steady_clock::now();
  if (llvm::Error e = phiq::onnx::exportONNX(module, output, options))
    return fail(llvm::toString(std::move(e)));
  double seconds = std::chrono::duration<double>(
                       std::chrono::steady_clock::now() - start)
                       .count();
  uint64_t graph = 0, data = 0;
  llvm::sys::fs::file_size(output + "/model.onnx", graph);
  llvm::sys::fs::file_size(output + "/model.onnx.data", data);
  llvm::outs() << fmt::format(
      "{} ONNX model: model.onnx {} bytes, model.onnx.data {} bytes in "
      "{:.2f} s\n",
      type.getValue(), graph, data, seconds);
  return 0;
}

/// --to openvino: F32/F16 float weights, or NNCF's INT4 groups
/// (--phiq-quantize-openvino); the writer packs each deferred weight as it
/// streams it into openvino_model.bin.
int writeOpenVINO(ModuleOp module, MLIRContext *context) {
  PassManager pm(context);
  phiq::openvino::ExportOptions options;
  options.allowRequantize = allowRequantize;
  if (type == "F16") {
    options.weights = "fp16";
  } else if (type == "INT4_ASYM" || type == "INT4_SYM" ||
             type == "INT8_ASYM") {
    phiq::QuantizeOpenVINOOptions ov;
    ov.mode = llvm::StringRef(type).lower();
    // NNCF's INT8 is per channel.
    ov.groupSize =
        type == "INT8_ASYM" ? -1 : groupSize ? int64_t(groupSize) : 128;
    ov.int8EmbeddingAndHead = int8EmbeddingAndHead;
    pm.addPass(phiq::createQuantizeOpenVINO(ov));
  } else if (type != "F32") {
    return fail("--to openvino --type " + type +
                ": expected F32, F16, INT4_ASYM, INT4_SYM or INT8_ASYM");
  }
  if (failed(pm.run(module)))
    return fail("quantization failed (see above)");
  auto start = std::chrono::steady_clock::now();
  auto report = phiq::openvino::exportOpenVINO(module, output, options);
  if (!report)
    return fail(llvm::toString(report.takeError()));
  double seconds = std::chrono::duration<double>(
                       std::chrono::steady_clock::now() - start)
                       .count();
  uint64_t xml = 0, bin = 0;
  llvm::sys::fs::file_size(output + "/openvino_model.xml", xml);
  llvm::sys::fs::file_size(output + "/openvino_model.bin", bin);
  llvm::outs() << fmt::format(
      "{} OpenVINO model: openvino_model.xml {} bytes, openvino_model.bin {} "
      "bytes in {:.2f} s\n",
      type.getValue(), xml, bin, seconds);
  if (report->requantized)
    llvm::outs() << fmt::format("requantized {} tensors to f16 (worst "
                                "relative RMS error added {:.2e})\n",
                                report->requantized,
                                report->worstRequantizeError);
  return 0;
}

/// --to mlx: F32/F16/BF16 write float tensors of that type; INT<bits>
/// quantizes every matrix mlx-lm quantizes into MLX affine groups, and the
/// writer splits the groups into mlx-lm's weight / scales / biases.
int writeMLX(ModuleOp module, MLIRContext *context) {
  PassManager pm(context);
  phiq::mlx::ExportOptions options;
  options.allowRequantize = allowRequantize;
  options.requantizeGroupSize = groupSize ? groupSize : 64;
  options.onRequantize = [](llvm::StringRef tensor, llvm::StringRef from,
                            double relativeRmse) {
    llvm::outs() << fmt::format("re-quantized {} from {}: relative RMS "
                                "error {:.5f}\n",
                                tensor.str(), from.str(), relativeRmse);
  };
  llvm::StringRef t = type;
  int bits = 0;
  if (t == "F32" || t == "F16" || t == "BF16") {
    options.dtype = t.lower();
  } else if (t.consume_front("INT") && !t.getAsInteger(10, bits)) {
    phiq::QuantizeMLXOptions mlx;
    mlx.bits = bits;
    mlx.groupSize = groupSize ? groupSize : 64;
    options.requantizeBits = bits;
    pm.addPass(phiq::createQuantizeMLX(mlx));
  } else {
    return fail("--to mlx --type " + type +
                ": expected F32, F16, BF16 or INT2, INT3, INT4, INT5, INT6, "
                "INT8");
  }
  if (failed(pm.run(module)))
    return fail("quantization failed (see above)");
  auto start = std::chrono::steady_clock::now();
  if (llvm::Error e = phiq::mlx::exportMLX(module, output, options))
    return fail(llvm::toString(std::move(e)));
  double seconds = std::chrono::duration<double>(
                       std::chrono::steady_clock::now() - start)
                       .count();
  uint64_t data = 0;
  llvm::sys::fs::file_size(output + "/model.safetensors", data);
  llvm::outs() << fmt::format(
      "{} MLX model: model.safetensors {} bytes in {:.2f} s\n",
      type.getValue(), data, seconds);
  return 0;
}

} // namespace

int main(int argc, char **argv) {
  llvm::InitLLVM init(argc, argv);
  phiq::registerAllPasses();
  cl::ParseCommandLineOptions(argc, argv,
                              "PhiQ one-shot quantizer: checkpoint in, "
                              "runtime file out\n");
  if (target != "gguf" && target != "onnx" && target != "openvino" &&
      target != "mlx")
    return fail("--to " + target + ": expected gguf, onnx, openvino or mlx");

  DialectRegistry registry;
  phiq::registerAllDialects(registry);
  MLIRContext context(registry);
  context.loadAllAvailableDialects();
  OwningOpRef<ModuleOp> module;
  std::string sourceStore;
  if (llvm::sys::fs::is_directory(input)) {
    // An mlx-lm folder imports with its quantized modules packed in MLX
    // formats (--to mlx writes them back as they are).
    auto imported = phiq::openvino::isOpenVINOFolder(input)
                        ? phiq::openvino::importOpenVINO(input, &context)
                    : phiq::mlx::isMLXFolder(input)
                        ? phiq::mlx::importMLX(input, &context)
                        : phiq::hf::importCheckpoint(input, &context);
    if (!imported)
      return fail(llvm::toString(imported.takeError()));
    module = std::move(*imported);
  } else if (phiq::gguf::isGGUFFile(input)) {
    // Re-quantizing a GGUF file (F16/BF16/F32, or already quantized), as
    // llama-quantize does; the vocabulary comes from the file.
    auto imported = phiq::gguf::importGGUF(input, &context);
    if (!imported)
      return fail(llvm::toString(imported.takeError()));
    module = std::move(*imported);
    // Blocks are not re-quantized: that would stack a second rounding on
    // the first (llama-quantize needs --allow-requantize for it).
    std::string packed;
    module->walk([&](mlir::phiq_ir::PackedWeightOp op) {
      using phiq::quant::BlockFormat;
      BlockFormat format = op.getType().getScheme().getBlockFormat();
      bool isFloat = format == BlockFormat::F32 || format == BlockFormat::F16 ||
                     format == BlockFormat::BF16;
      if (packed.empty() && !isFloat)
        packed = "tensor '" + op.getBytes().getKey().str() + "' is " +
                 phiq::quant::formatInfo(format).name.str();
    });
    // --to mlx --allow-requantize decodes and re-quantizes them on purpose.
    if (!packed.empty() && !(target == "mlx" && allowRequantize))
      return fail(input + ": already quantized (" + packed +
                  "); phi-quantize takes F32, F16 or BF16 GGUF files, or "
                  "the checkpoint");
  } else {
    llvm::SourceMgr sourceMgr;
    SourceMgrDiagnosticHandler handler(sourceMgr, &context);
    module = parseSourceFile<ModuleOp>(input, sourceMgr,
                                       ParserConfig(&context));
    if (!module)
      return fail(input + ": cannot load the model");
  }
  auto models = llvm::to_vector(module->getOps<phi::ModelOp>());
  if (models.size() != 1)
    return fail(input + ": expected exactly one phi.model");
  phi::ModelOp model = models.front();

  if (!calibTokens.empty() && !imatrix.empty())
    return fail("give --calib or --imatrix, not both");
  if (calibTokens.empty() &&
      (!calibStats.empty() || !imatrixOut.empty() || calibHessian))
    return fail("--calib-stats, --calib-hessian and --imatrix-out need "
                "--calib");
  if ((targetBpw != 0.0 || !reportDir.empty()) && calibTokens.empty() &&
      imatrix.empty())
    return fail("--target-bpw and --report measure each tensor's error on "
                "calibration data: give --calib TOKENS or --imatrix FILE");
  if (target != "gguf" && target != "onnx" &&
      (targetBpw != 0.0 || !reportDir.empty()))
    return fail("--target-bpw and --report are for --to gguf and --to onnx");
  if (llvm::StringRef(imatrix).ends_with(".safetensors"))
    calibrationStore = imatrix;
  // The statistics of --calib live in a temporary file unless kept; the
  // writers read them while they pack, so it goes only at exit.
  llvm::SmallString<128> tempStats;
  std::optional<llvm::FileRemover> removeStats;
  if (!calibTokens.empty()) {
    std::string stats = calibStats;
    if (stats.empty()) {
      if (std::error_code ec = llvm::sys::fs::createTemporaryFile(
              "phiq-calib", "safetensors", tempStats))
        return fail("cannot create a temporary statistics file: " +
                    ec.message());
      removeStats.emplace(tempStats);
      stats = tempStats.str().str();
    }
    calibrationStore = stats;
    PassManager calibrate(&context);
    phiq::CalibrateOptions calib;
    calib.tokens = calibTokens;
    calib.seqLen = calibSeqLen;
    calib.output = stats;
    calib.imatrix = imatrixOut;
    calib.hessian = calibHessian;
    calibrate.addPass(phiq::createCalibrate(calib));
    auto start = std::chrono::steady_clock::now();
    if (failed(calibrate.run(*module)))
      return fail("calibration failed (see above)");
    if (!quiet)
      llvm::outs() << fmt::format(
          "calibrated on {} in {:.2f} s\n", calibTokens.getValue(),
          std::chrono::duration<double>(std::chrono::steady_clock::now() -
                                        start)
              .count());
  }

  if (target == "onnx")
    return writeONNX(*module, &context);
  if (target == "openvino")
    return writeOpenVINO(*module, &context);
  if (target == "mlx")
    return writeMLX(*module, &context);

  // Decide every tensor's format; the packing itself is deferred to the
  // writer, which quantizes each tensor straight into the output file.
  PassManager pm(&context);
  phiq::QuantizeWeightsOptions options;
  options.type = type;
  options.pure = pure;
  options.noFallback = noFallback;
  options.tensorTypes.assign(tensorTypes.begin(), tensorTypes.end());
  options.imatrix = imatrix;
  options.targetBpw = targetBpw;
  options.sensitivity = sensitivity;
  options.mixedFormats.assign(mixedFormats.begin(), mixedFormats.end());
  options.report = reportDir;
  options.calibration = calibrationStore;
  pm.addPass(phiq::createQuantizeWeights(options));
  if (failed(pm.run(*module)))
    return fail("quantization failed (see above)");

  if (progress != "auto" && progress != "on" && progress != "off")
    return fail("--progress=" + progress + ": expected auto, on or off");
  ProgressBar bar(progress == "on" ||
                  (progress == "auto" && llvm::errs().is_displayed()));
  std::vector<phiq::gguf::WrittenTensor> written;
  std::vector<std::string> names;
  auto start = std::chrono::steady_clock::now();
  auto elapsed = [&] {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() -
                                         start)
        .count();
  };
  phiq::gguf::ExportOptions exportOptions;
  exportOptions.measureError = true;
  exportOptions.allowRequantize = allowRequantize;
  exportOptions.onRequantize = printRequantized;
  exportOptions.onTensorWritten = [&](const phiq::gguf::WrittenTensor &t) {
    written.push_back(t);
    names.push_back(t.name.str());
    bar.update(t, elapsed());
  };
  if (llvm::Error e = phiq::gguf::exportGGUF(*module, output, exportOptions))
    return fail(llvm::toString(std::move(e)));
  double seconds = elapsed();

  // Summary: every tensor of the file; totals over the quantized matrices.
  int64_t totalBytes = 0, totalWeights = 0;
  if (!quiet)
    llvm::outs() << fmt::format("{:<40} {:>7} {:>12} {:>6} {:>9}\n", "tensor",
                                "format", "bytes", "bpw", "rel RMSE");
  for (auto [tensor, name] : llvm::zip_equal(written, names)) {
    if (tensor.relativeRmse) {
      totalBytes += int64_t(tensor.bytes);
      totalWeights += tensor.elements;
    }
    if (quiet)
      continue;
    llvm::outs() << fmt::format(
        "{:<40} {:>7} {:>12} {:>6.2f} {:>9}\n", name,
        phiq::quant::formatInfo(tensor.format).name.str(), tensor.bytes,
        8.0 * double(tensor.bytes) / double(std::max<int64_t>(tensor.elements, 1)),
        tensor.relativeRmse ? fmt::format("{:.5f}", *tensor.relativeRmse)
                            : std::string("-"));
  }
  uint64_t fileSize = 0;
  llvm::sys::fs::file_size(output, fileSize);
  llvm::outs() << fmt::format(
      "{} quantized matrices: {} weights in {} bytes ({:.2f} bits per "
      "weight); file {} bytes in {:.2f} s\n",
      type.getValue(), totalWeights, totalBytes,
      totalWeights ? 8.0 * double(totalBytes) / double(totalWeights) : 0.0,
      fileSize, seconds);
  return 0;
}
