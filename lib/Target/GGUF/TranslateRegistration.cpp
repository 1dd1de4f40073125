//===- TranslateRegistration.cpp - --phi-to-gguf for phi-translate -*- C++ -*-===//
//
// Registers the GGUF emitter with mlir-translate's registry. A GGUF file is
// written through a temporary file and renamed (exportGGUF); when the
// translation must write to a stream (`-o -`), the finished file is copied
// there. The importer (--import-gguf) maps the input file again by its
// name rather than reading the buffer mlir-translate hands it, so that the
// weights stay referenced by path.
//
//===----------------------------------------------------------------------===//
#include "phiq/Target/GGUF/ExportGGUF.h"
#include "phiq/Target/GGUF/ImportGGUF.h"

#include "dialects/Phi/PhiDialect.h"
#include "dialects/PhiQ/PhiQDialect.h"

#include "mlir/Tools/mlir-translate/Translation.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/FileUtilities.h"
#include "llvm/Support/Format.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/SourceMgr.h"
#include "llvm/Support/WithColor.h"

using namespace mlir;

namespace {
llvm::cl::opt<std::string> floatType(
    "gguf-float-type",
    llvm::cl::desc("type of unquantized float matrices in --phi-to-gguf "
                   "output: source, f32, f16, bf16"),
    llvm::cl::init("source"));
llvm::cl::opt<std::string>
    tokenizerDir("gguf-tokenizer",
                 llvm::cl::desc("tokenizer folder for --phi-to-gguf (default: "
                                "the model's checkpoint)"));
llvm::cl::opt<bool> allowRequantize(
    "gguf-allow-requantize",
    llvm::cl::desc("--phi-to-gguf: quantize imported MLX weights that no GGUF "
                   "format holds exactly again (reporting the error added) "
                   "instead of refusing them"));
} // namespace

phiq::gguf::ExportOptions phiq::gguf::exportOptionsFromCommandLine() {
  ExportOptions options;
  options.floatType = floatType;
  options.tokenizerDir = tokenizerDir;
  options.allowRequantize = allowRequantize;
  // The GGUF goes to the output stream; the report to stderr.
  options.onRequantize = [](llvm::StringRef tensor, llvm::StringRef from,
                            llvm::StringRef to, double relativeRmse) {
    llvm::errs() << "re-quantized " << tensor << " from " << from << " to "
                 << to << ": relative RMS error "
                 << llvm::format("%.5f", relativeRmse) << "\n";
  };
  return options;
}

void phiq::gguf::registerPhiToGGUFTranslation() {
  TranslateFromMLIRRegistration registration(
      "phi-to-gguf", "write a phi model as a llama.cpp GGUF file",
      [](Operation *op, llvm::raw_ostream &os) -> LogicalResult {
        auto module = dyn_cast<ModuleOp>(op);
        if (!module)
          return op->emitError("expected a module");
        llvm::SmallString<128> temp;
        if (llvm::sys::fs::createTemporaryFile("phiq", "gguf", temp))
          return op->emitError("cannot create a temporary file");
        llvm::FileRemover remover(temp);
        if (llvm::Error e =
                exportGGUF(module, temp, exportOptionsFromCommandLine())) {
          llvm::WithColor::error(llvm::errs(), "phi-translate")
              << llvm::toString(std::move(e)) << "\n";
          return failure();
        }
        auto buffer = llvm::MemoryBuffer::getFile(temp, false, false);
        if (!buffer)
          return op->emitError("cannot read back ") << temp;
        os << (*buffer)->getBuffer();
        return success();
      },
      [](DialectRegistry &registry) {
        registry.insert<phi::PhiDialect, phiq_ir::PhiQDialect>();
      });
}

void phiq::gguf::registerImportGGUFTranslation() {
  static llvm::cl::opt<std::string> storeName(
      "import-gguf-store",
      llvm::cl::desc("parameter store name for --import-gguf"),
      llvm::cl::init("gguf"));
  TranslateToMLIRRegistration registration(
      "import-gguf", "import a llama.cpp phi3 / phimoe GGUF file",
      [](llvm::SourceMgr &sourceMgr,
         MLIRContext *context) -> OwningOpRef<Operation *> {
        StringRef file = sourceMgr.getMemoryBuffer(sourceMgr.getMainFileID())
                             ->getBufferIdentifier();
        ImportOptions options;
        options.storeName = storeName;
        auto module = importGGUF(file, context, options);
        if (!module) {
          // The message already names the file; a location would repeat it.
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
