//===- TranslateRegistration.cpp - --import-hf for phi-translate -*- C++ -*-===//
//
// Registers the Hugging Face importer with mlir-translate's registry. The
// translation's input is the checkpoint's config.json (phi-translate maps a
// folder argument to it), and the folder is the file's parent.
//
//===----------------------------------------------------------------------===//
#include "phiq/Target/HF/Import.h"

#include "dialects/Phi/PhiDialect.h"

#include "mlir/IR/Diagnostics.h"
#include "mlir/Tools/mlir-translate/Translation.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/SourceMgr.h"
#include "llvm/Support/WithColor.h"

using namespace mlir;

void phiq::hf::registerImportHFTranslation() {
  static llvm::cl::opt<std::string> storeName(
      "import-hf-store", llvm::cl::desc("parameter store name for --import-hf"),
      llvm::cl::init("model"));
  TranslateToMLIRRegistration registration(
      "import-hf",
      "import a Hugging Face Phi-3 family checkpoint (folder or its "
      "config.json)",
      [](llvm::SourceMgr &sourceMgr,
         MLIRContext *context) -> OwningOpRef<Operation *> {
        StringRef file =
            sourceMgr.getMemoryBuffer(sourceMgr.getMainFileID())
                ->getBufferIdentifier();
        StringRef dir = llvm::sys::path::parent_path(file);
        if (dir.empty())
          dir = ".";
        ImportOptions options;
        options.storeName = storeName;
        auto module = importCheckpoint(dir, context, options);
        if (!module) {
          // The message already names the file; a location would repeat it.
          llvm::WithColor::error(llvm::errs(), "phi-translate")
              << llvm::toString(module.takeError()) << "\n";
          return nullptr;
        }
        return OwningOpRef<Operation *>(module->release());
      },
      [](DialectRegistry &registry) { registry.insert<phi::PhiDialect>(); });
}
