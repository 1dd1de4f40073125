//===- TranslateRegistration.cpp - --phi-to-mlx for phi-translate -*- C++ -*-//
//
// Registers the MLX emitter with mlir-translate's registry. Its output is a
// folder (--mlx-out), not a stream: the stream gets a one-line summary.
//
//===----------------------------------------------------------------------===//
#include "phiq/Target/MLX/ExportMLX.h"
#include "phiq/Target/MLX/ImportMLX.h"

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
    outDir("mlx-out", llvm::cl::desc("folder --phi-to-mlx writes (config.json, "
                                     "model.safetensors, tokenizer)"));
llvm::cl::opt<std::string>
    dtype("mlx-dtype",
          llvm::cl::desc("float tensors of --phi-to-mlx output: auto (each "
                         "tensor's own type), f32, f16 or bf16"),
          llvm::cl::init("auto"));
llvm::cl::opt<bool> allowRequantize(
    "mlx-allow-requantize",
    llvm::cl::desc("--phi-to-mlx: decode weights in formats MLX cannot hold "
                   "(GGUF's, ONNX Runtime's) and re-quantize them, reporting "
                   "the error added"));
llvm::cl::opt<int> requantizeBits(
    "mlx-requantize-bits",
    llvm::cl::desc("bits of the MLX groups --mlx-allow-requantize makes"),
    llvm::cl::init(4));
llvm::cl::opt<int64_t> requantizeGroupSize(
    "mlx-requantize-group-size",
    llvm::cl::desc("group size of the MLX groups --mlx-allow-requantize makes"),
    llvm::cl::init(64));
llvm::cl::opt<std::string> checkpointDir(
    "mlx-checkpoint",
    llvm::cl::desc("folder with config.json and the tokenizer for "
                   "--phi-to-mlx (default: the model's checkpoint)"));
} // namespace

phiq::mlx::ExportOptions phiq::mlx::exportOptionsFromCommandLine() {
  ExportOptions options;
  options.dtype = dtype;
  options.allowRequantize = allowRequantize;
  options.requantizeBits = requantizeBits;
  options.requantizeGroupSize = requantizeGroupSize;
  options.checkpointDir = checkpointDir;
  options.onRequantize = [](llvm::StringRef tensor, llvm::StringRef from,
                            double relativeRmse) {
    llvm::WithColor::warning(llvm::errs(), "phi-translate")
        << llvm::formatv("re-quantized '{0}' from {1}: relative RMS error "
                         "{2:e3} against the decoded {1} weights\n",
                         tensor, from, relativeRmse);
  };
  return options;
}

void phiq::mlx::registerPhiToMLXTranslation() {
  TranslateFromMLIRRegistration registration(
      "phi-to-mlx", "write a phi model as an mlx-lm model folder (--mlx-out)",
      [](Operation *op, llvm::raw_ostream &os) -> LogicalResult {
        auto module = dyn_cast<ModuleOp>(op);
        if (!module)
          return op->emitError("expected a module");
        if (llvm::Error e =
                exportMLX(module, outDir, exportOptionsFromCommandLine())) {
          llvm::WithColor::error(llvm::errs(), "phi-translate")
              << llvm::toString(std::move(e)) << "\n";
          return failure();
        }
        llvm::SmallString<256> data(outDir);
        llvm::sys::path::append(data, "model.safetensors");
        uint64_t size = 0;
        (void)llvm::sys::fs::file_size(data, size);
        os << "wrote " << outDir << ": config.json, model.safetensors (" << size
           << " bytes), tokenizer\n";
        return success();
      },
      [](DialectRegistry &registry) {
        registry.insert<phi::PhiDialect, phiq_ir::PhiQDialect>();
      });
}

void phiq::mlx::registerImportMLXTranslation() {
  // The input is the folder's config.json (phi-translate maps a folder
  // argument to it), as for --import-hf.
  TranslateToMLIRRegistration registration(
      "import-mlx", "import an mlx-lm model folder (folder or its config.json)",
      [](llvm::SourceMgr &sourceMgr,
         MLIRContext *context) -> OwningOpRef<Operation *> {
        llvm::StringRef file =
            sourceMgr.getMemoryBuffer(sourceMgr.getMainFileID())
                ->getBufferIdentifier();
        llvm::StringRef dir = llvm::sys::path::parent_path(file);
        if (dir.empty())
          dir = ".";
        auto module = importMLX(dir, context);
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
