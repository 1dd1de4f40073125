//===- ExportGGUF.h - phi IR to a llama.cpp GGUF file -----------*- C++ -*-===//
//
// Writes a phi.model (float or quantized with phiq) as a GGUF file that
// llama.cpp loads as its `phi3` or `phimoe` architecture.
//
//===----------------------------------------------------------------------===//
#ifndef PHIQ_TARGET_GGUF_EXPORTGGUF_H
#define PHIQ_TARGET_GGUF_EXPORTGGUF_H

#include "phiq/Quant/BlockFormat.h"

#include "mlir/IR/BuiltinOps.h"
#include "llvm/Support/Error.h"

#include <functional>
#include <optional>
#include <string>

namespace phiq::gguf {

/// What the writer reports after each tensor it wrote.
struct WrittenTensor {
  /// The tensor's GGUF name and storage format.
  llvm::StringRef name;
  ::phiq::quant::BlockFormat format;
  int64_t elements = 0;
  uint64_t bytes = 0;
  /// Relative RMS error of the blocks against the weights they were packed
  /// from; set for tensors quantized while writing when
  /// ExportOptions::measureError is on.
  std::optional<double> relativeRmse;
  /// 1-based position of the tensor among `count` tensors.
  size_t index = 0, count = 0;
};

struct ExportOptions {
  /// Element type for float matrices that were not quantized: "source"
  /// (keep F32/F16/BF16 as stored), "f32", "f16" or "bf16". Vectors (norms,
  /// biases) and MoE routers are always F32, as llama.cpp expects.
  std::string floatType = "source";
  /// Folder with the tokenizer files; the model's checkpoint if empty.
  std::string tokenizerDir;
  /// Called after each tensor is written (progress, summaries).
  std::function<void(const WrittenTensor &)> onTensorWritten;
  /// Measure the error of tensors quantized while writing (phiq.quantize),
  /// for onTensorWritten; costs one decode of their blocks.
  bool measureError = false;
  /// Imported MLX weights with no exact GGUF form (widths other than 4 and
  /// 5 bits, scales or biases that are not f16 values) are decoded and
  /// quantized again (Q4_1 up to 4 bits, Q8_0 above) instead of refused.
  bool allowRequantize = false;
  /// Called for each weight quantized again: checkpoint name, its format
  /// and the new one, and the relative RMS error added.
  std::function<void(llvm::StringRef tensor, llvm::StringRef from,
                     llvm::StringRef to, double relativeRmse)>
      onRequantize;
};

/// Writes `module`'s single phi.model to `path` (through a temporary file:
/// nothing is left behind on failure).
llvm::Error exportGGUF(mlir::ModuleOp module, llvm::StringRef path,
                       const ExportOptions &options = {});

/// The options set by phi-translate's --gguf-* flags.
ExportOptions exportOptionsFromCommandLine();

/// Registers `--phi-to-gguf` with mlir-translate's registry.
void registerPhiToGGUFTranslation();

} // namespace phiq::gguf

#endif // PHIQ_TARGET_GGUF_EXPORTGGUF_H
