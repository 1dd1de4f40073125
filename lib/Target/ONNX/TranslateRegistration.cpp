//===- TranslateRegistration.cpp - --phi-to-onnx for phi-translate -*- C++ -*-//
//
// Registers the ONNX emitter with mlir-translate's registry. Its output is a
// folder (--onnx-out), not a stream: the stream gets a one-line summary of
// what was written.
//
//===----------------------------------------------------------------------===//
#include "phiq/Target/ONNX/ExportONNX.h"
#include "phiq/Target/ONNX/ImportONNX.h"

#include "dialects/Phi/PhiDialect.h"
#include "dialects/PhiQ/PhiQDialect.h"

#include "mlir/Tools/mlir-translate/Translation.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/Format.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/SourceMgr.h"
#include "llvm/Support/WithColor.h"

using namespace mlir;

namespace {
llvm::cl::opt<std::string>
    outDir("onnx-out",
           llvm::cl::desc("folder --phi-to-onnx writes (model.onnx, "
                          "model.onnx.data, genai_config.json, tokenizer)"));
llvm::cl::opt<std::string> precision(
    "onnx-precision",
    llvm::cl::desc("activation and float-weight type of --phi-to-onnx "
                   "output: fp32, fp16 (bf16 is refused: ONNX Runtime's "
                   "CPU provider cannot run it)"),
    llvm::cl::init("fp32"));
llvm::cl::opt<int64_t> accuracyLevel(
    "onnx-accuracy-level",
    llvm::cl::desc("accuracy_level of the MatMulNBits nodes (0..4; 0 = "
                   "ONNX Runtime's default, 4 = int8 activations)"),
    llvm::cl::init(0));
llvm::cl::opt<std::string>
    tokenizerDir("onnx-tokenizer",
                 llvm::cl::desc("tokenizer folder for --phi-to-onnx "
                                "(default: the model's checkpoint)"));
llvm::cl::opt<bool> allowRequantize(
    "onnx-allow-requantize",
    llvm::cl::desc("--phi-to-onnx: quantize imported MLX weights that "
                   "MatMulNBits cannot hold exactly again as 4-bit groups "
                   "(reporting the error added) instead of refusing them"));
} // namespace

phiq::onnx::ExportOptions phiq::onnx::exportOptionsFromCommandLine() {
  ExportOptions options;
  options.precision = precision;
  options.accuracyLevel = accuracyLevel;
  options.tokenizerDir = tokenizerDir;
  options.allowRequantize = allowRequantize;
  options.onRequantize = [](llvm::StringRef tensor, llvm::StringRef from,
                            llvm::StringRef to, double relativeRmse) {
    llvm::outs() << "re-quantized " << tensor << " from " << from << " to "
                 << to << ": relative RMS error "
                 << llvm::format("%.5f", relativeRmse) << "\n";
  };
  return options;
}

void phiq::onnx::registerPhiToONNXTranslation() {
  TranslateFromMLIRRegistration registration(
      "phi-to-onnx",
      "write a phi model as an ONNX Runtime GenAI folder (--onnx-out)",
      [](Operation *op, llvm::raw_ostream &os) -> LogicalResult {
        auto module = dyn_cast<ModuleOp>(op);
        if (!module)
          return op->emitError("expected a module");
        if (llvm::Error e =
                exportONNX(module, outDir, exportOptionsFromCommandLine())) {
          llvm::WithColor::error(llvm::errs(), "phi-translate")
              << llvm::toString(std::move(e)) << "\n";
          return failure();
        }
        llvm::SmallString<256> data(outDir);
        llvm::sys::path::append(data, "model.onnx.data");
        uint64_t size = 0;
        (void)llvm::sys::fs::file_size(data, size);
        os << "wrote " << outDir << ": model.onnx, model.onnx.data (" << size
           << " bytes), genai_config.json, tokenizer\n";
        return success();
      },
      [](DialectRegistry &registry) {
        registry.insert<phi::PhiDialect, phiq_ir::PhiQDialect>();
      });
}

void phiq::onnx::registerImportONNXTranslation() {
  static llvm::cl::opt<std::string> storeName(
      "import-onnx-store",
      llvm::cl::desc("parameter store name for --import-onnx"),
      llvm::cl::init("onnx"));
  TranslateToMLIRRegistration registration(
      "import-onnx",
      "import a Phi decoder from an ONNX file (external data mapped)",
      [](llvm::SourceMgr &sourceMgr,
         MLIRContext *context) -> OwningOpRef<Operation *> {
        StringRef file = sourceMgr.getMemoryBuffer(sourceMgr.getMainFileID())
                             ->getBufferIdentifier();
        ImportOptions options;
        options.storeName = storeName;
        auto module = importONNX(file, context, options);
        if (!module) {
          // The message names the file and node; a location would repeat it.
          llvm::WithColor::error(llvm::errs(), "phi-translate")
              << llvm::toString(module.takeError()) << "\n";
          return nullptr;
        }
        return OwningOpRef<Operation *>(module->release());
      },
      [](DialectRegistry &registry) {
        registry.insert<phi::PhiDialect, phiq_ir::PhiQDialect>();
      });
}
