//===- TranslateRegistration.cpp - --phi-to-openvino for phi-translate ----===//
//
// Registers the OpenVINO IR emitter with mlir-translate's registry. Its
// output is a folder (--openvino-out), not a stream: the stream gets a
// one-line summary of what was written.
//
//===----------------------------------------------------------------------===//
#include "phiq/Target/OpenVINO/ExportOpenVINO.h"
#include "phiq/Target/OpenVINO/ImportOpenVINO.h"

#include "dialects/Phi/PhiDialect.h"
#include "dialects/PhiQ/PhiQDialect.h"

#include "mlir/Tools/mlir-translate/Translation.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/SourceMgr.h"
#include "llvm/Support/WithColor.h"

using namespace mlir;

namespace {
llvm::cl::opt<std::string>
    outDir("openvino-out",
           llvm::cl::desc("folder --phi-to-openvino writes "
                          "(openvino_model.xml/.bin, config.json, "
                          "generation_config.json)"));
llvm::cl::opt<std::string> weightType(
    "openvino-weights",
    llvm::cl::desc("type of the float weights of --phi-to-openvino output: "
                   "fp32, or fp16 (compressed with a decompression Convert)"),
    llvm::cl::init("fp32"));
llvm::cl::opt<std::string>
    configDir("openvino-config",
              llvm::cl::desc("folder with config.json and "
                             "generation_config.json (default: the model's "
                             "checkpoint)"));
llvm::cl::opt<bool> allowRequantize(
    "openvino-allow-requantize",
    llvm::cl::desc("write weights in block formats OpenVINO cannot hold "
                   "exactly (K-quants, IQ4_NL, ...) as f16 and report the "
                   "error added, instead of refusing them"));
} // namespace

phiq::openvino::ExportOptions phiq::openvino::exportOptionsFromCommandLine() {
  ExportOptions options;
  options.weights = weightType;
  options.configDir = configDir;
  options.allowRequantize = allowRequantize;
  return options;
}

void phiq::openvino::registerPhiToOpenVINOTranslation() {
  TranslateFromMLIRRegistration registration(
      "phi-to-openvino",
      "write a phi model as an OpenVINO IR folder (--openvino-out)",
      [](Operation *op, llvm::raw_ostream &os) -> LogicalResult {
        auto module = dyn_cast<ModuleOp>(op);
        if (!module)
          return op->emitError("expected a module");
        auto report =
            exportOpenVINO(module, outDir, exportOptionsFromCommandLine());
        if (!report) {
          llvm::WithColor::error(llvm::errs(), "phi-translate")
              << llvm::toString(report.takeError()) << "\n";
          return failure();
        }
        llvm::SmallString<256> bin(outDir);
        llvm::sys::path::append(bin, "openvino_model.bin");
        uint64_t size = 0;
        (void)llvm::sys::fs::file_size(bin, size);
        os << "wrote " << outDir << ": openvino_model.xml, openvino_model.bin ("
           << size << " bytes), config.json, generation_config.json\n";
        if (report->requantized)
          os << llvm::formatv("requantized {0} tensors to f16 (worst relative "
                              "RMS error added {1:e2})\n",
                              report->requantized,
                              report->worstRequantizeError);
        return success();
      },
      [](DialectRegistry &registry) {
        registry.insert<phi::PhiDialect, phiq_ir::PhiQDialect>();
      });
}

void phiq::openvino::registerImportOpenVINOTranslation() {
  // The input is the folder's config.json (phi-translate maps a folder
  // argument to it) or its openvino_model.xml: either names the folder.
  TranslateToMLIRRegistration registration(
      "import-openvino",
      "import an OpenVINO IR folder PhiQ or NNCF wrote (folder, its "
      "config.json or openvino_model.xml)",
      [](llvm::SourceMgr &sourceMgr,
         MLIRContext *context) -> OwningOpRef<Operation *> {
        llvm::StringRef file =
            sourceMgr.getMemoryBuffer(sourceMgr.getMainFileID())
                ->getBufferIdentifier();
        llvm::StringRef dir = llvm::sys::path::parent_path(file);
        if (dir.empty())
          dir = ".";
        auto module = importOpenVINO(dir, context);
        if (!module) {
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
