//===- phi-quantize.cpp - One-shot quantizer --------------------*- C++ -*-===//
//
//   phi-quantize MODEL --to gguf --type Q4_K_M -o out.gguf
//
// Imports MODEL (a Hugging Face folder or a .mlir file), quantizes its
// weights with --phiq-quantize-weights (llama-quantize's mixtures, per-tensor
// overrides, fallbacks), writes the GGUF file through a temporary file, and
// prints a table per tensor: format, bytes, bits per weight and the
// relative RMS error of the quantized weight.
//
//===----------------------------------------------------------------------===//
#include "dialects/Phi/PhiOps.h"
#include "dialects/Phi/PhiParams.h"
#include "dialects/PhiQ/PhiQOps.h"
#include "passes/Passes.h"
#include "phiq/InitAll.h"
#include "phiq/Params/ParamStore.h"
#include "phiq/Quant/BlockFormat.h"
#include "phiq/Target/GGUF/ExportGGUF.h"
#include "phiq/Target/GGUF/TensorNames.h"
#include "phiq/Target/HF/Import.h"

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

using namespace mlir;
namespace cl = llvm::cl;

static cl::opt<std::string> input(cl::Positional, cl::Required,
                                  cl::desc("<model folder or .mlir>"));
static cl::opt<std::string> target("to", cl::desc("output format: gguf"),
                                   cl::init("gguf"));
static cl::opt<std::string> type("type", cl::desc("llama.cpp file type"),
                                 cl::init("Q4_K_M"));
static cl::opt<std::string> output("o", cl::Required,
                                   cl::desc("output file"));
static cl::list<std::string>
    tensorTypes("tensor-type", cl::desc("override REGEX=TYPE (repeatable)"));
static cl::opt<bool> pure("pure", cl::desc("no mixture rules"));
static cl::opt<bool> noFallback("no-fallback",
                                cl::desc("fail instead of falling back"));
static cl::opt<bool> quiet("quiet", cl::desc("no per-tensor table"));

namespace {

int fail(const llvm::Twine &message) {
  llvm::WithColor::error(llvm::errs(), "phi-quantize") << message << "\n";
  return 1;
}

/// Relative RMS error of a packed weight against the weight it replaced.
double relativeRmse(mlir::phiq_ir::PackedWeightOp packed,
                    const phiq::params::TensorRef &source) {
  auto blocks = mlir::phi::resolveParam(packed.getBytes(), packed);
  if (!blocks) {
    llvm::consumeError(blocks.takeError());
    return NAN;
  }
  mlir::phiq_ir::BlocksType type = packed.getType();
  int64_t n = type.getNumRows() * type.getRowLength();
  std::vector<float> original(static_cast<size_t>(n)),
      decoded(static_cast<size_t>(n));
  phiq::params::convertToF32(source.dtype, source.data.data(),
                             original.data(), n);
  phiq::quant::dequantize(type.getScheme().getBlockFormat(), (*blocks)->data,
                          type.getNumRows(), type.getRowLength(), decoded);
  double err = 0, ref = 0;
  for (int64_t i = 0; i < n; ++i) {
    double d = double(decoded[i]) - original[i];
    err += d * d;
    ref += double(original[i]) * original[i];
  }
  return ref > 0 ? std::sqrt(err / ref) : 0.0;
}

} // namespace

int main(int argc, char **argv) {
  llvm::InitLLVM init(argc, argv);
  phiq::registerAllPasses();
  cl::ParseCommandLineOptions(argc, argv,
                              "PhiQ one-shot quantizer: checkpoint in, "
                              "runtime file out\n");
  if (target != "gguf")
    return fail("--to " + target + " is not supported yet (gguf is)");

  DialectRegistry registry;
  phiq::registerAllDialects(registry);
  MLIRContext context(registry);
  context.loadAllAvailableDialects();
  OwningOpRef<ModuleOp> module;
  std::string sourceStore;
  if (llvm::sys::fs::is_directory(input)) {
    auto imported = phiq::hf::importCheckpoint(input, &context);
    if (!imported)
      return fail(llvm::toString(imported.takeError()));
    module = std::move(*imported);
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

  // Remember where each weight came from, for the error column.
  llvm::StringMap<const phiq::params::TensorRef *> sources;
  model.walk([&](phi::WeightOp op) {
    auto param = dyn_cast<phi::ParamAttr>(op.getValue());
    if (!param)
      return;
    if (auto tensor = phi::resolveParam(op))
      sources[param.getKey()] = *tensor;
    else
      llvm::consumeError(tensor.takeError());
  });

  // The packed blocks go to a scratch store next to the output; the GGUF
  // file copies them and the store is removed.
  llvm::SmallString<256> scratch;
  if (std::error_code ec = llvm::sys::fs::createUniqueFile(
          output + ".blocks-%%%%%%.safetensors", scratch))
    return fail("cannot create a scratch file next to " + output + ": " +
                ec.message());
  llvm::FileRemover removeScratch(scratch);

  auto start = std::chrono::steady_clock::now();
  PassManager pm(&context);
  phiq::QuantizeWeightsOptions options;
  options.type = type;
  options.pure = pure;
  options.noFallback = noFallback;
  options.output = std::string(scratch);
  options.tensorTypes.assign(tensorTypes.begin(), tensorTypes.end());
  pm.addPass(phiq::createQuantizeWeights(options));
  if (failed(pm.run(*module)))
    return fail("quantization failed (see above)");
  model->setAttr("phiq.file_type", StringAttr::get(&context, type));
  double quantizeSeconds = std::chrono::duration<double>(
                               std::chrono::steady_clock::now() - start)
                               .count();

  start = std::chrono::steady_clock::now();
  if (llvm::Error e = phiq::gguf::exportGGUF(*module, output))
    return fail(llvm::toString(std::move(e)));
  double writeSeconds = std::chrono::duration<double>(
                            std::chrono::steady_clock::now() - start)
                            .count();

  // Summary.
  int64_t totalBytes = 0, totalWeights = 0;
  if (!quiet)
    llvm::outs() << fmt::format("{:<40} {:>7} {:>12} {:>6} {:>9}\n", "tensor",
                                "format", "bytes", "bpw", "rel RMSE");
  model.walk([&](mlir::phiq_ir::PackedWeightOp packed) {
    mlir::phiq_ir::BlocksType blocks = packed.getType();
    std::string name = packed.getBytes().getKey().str();
    auto gguf = phiq::gguf::ggufTensorName(name);
    int64_t weights = blocks.getNumRows() * blocks.getRowLength();
    int64_t bytes = blocks.getTotalBytes();
    totalBytes += bytes;
    totalWeights += weights;
    double rmse = NAN;
    if (auto it = sources.find(name); it != sources.end())
      rmse = relativeRmse(packed, *it->second);
    if (!quiet)
      llvm::outs() << fmt::format(
          "{:<40} {:>7} {:>12} {:>6.2f} {:>9.5f}\n",
          gguf ? gguf->name : name,
          blocks.getScheme().getFormat().str(), bytes,
          8.0 * double(bytes) / double(weights), rmse);
  });
  uint64_t fileSize = 0;
  llvm::sys::fs::file_size(output, fileSize);
  llvm::outs() << fmt::format(
      "{} quantized matrices: {} weights in {} bytes ({:.2f} bits per "
      "weight); file {} bytes; quantize {:.2f} s, write {:.2f} s\n",
      type.getValue(), totalWeights, totalBytes,
      totalWeights ? 8.0 * double(totalBytes) / double(totalWeights) : 0.0,
      fileSize, quantizeSeconds, writeSeconds);
  return 0;
}
