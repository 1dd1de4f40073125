//===- ExportOpenVINO.h - phi IR to an OpenVINO IR folder -------*- C++ -*-===//
//
// Writes a phi.model as the folder optimum-intel exports and openvino-genai's
// LLMPipeline loads: openvino_model.xml (IR v11) and openvino_model.bin, a
// stateful decoder (input_ids, attention_mask, position_ids, beam_idx ->
// logits; the KV cache in ReadValue/Assign variables), with float weights
// in f32 or compressed to f16 and 4/8-bit weights stored the way NNCF's
// compress_weights stores them, plus config.json and
// generation_config.json. The tokenizer is converted by openvino-tokenizers
// (a separate command, see docs/UserGuide.md).
//
//===----------------------------------------------------------------------===//
#ifndef PHIQ_TARGET_OPENVINO_EXPORTOPENVINO_H
#define PHIQ_TARGET_OPENVINO_EXPORTOPENVINO_H

#include "mlir/IR/BuiltinOps.h"
#include "llvm/Support/Error.h"

#include <string>

namespace phiq::openvino {

struct ExportOptions {
  /// Type of the float weights: "fp32", or "fp16" (stored f16 with a
  /// decompression Convert, as ov.save_model(compress_to_fp16=True) does).
  /// Activations and the KV cache are f32 either way; the CPU plugin picks
  /// its own inference precision.
  std::string weights = "fp32";
  /// Folder with config.json and generation_config.json; the model's
  /// checkpoint if empty.
  std::string configDir;
  /// Write weights whose block format OpenVINO cannot hold exactly
  /// (K-quants, IQ4_NL, ...) as f16 instead of refusing them.
  bool allowRequantize = false;
};

/// What the writer did to weights it could not store exactly.
struct ExportReport {
  /// Tensors written as f16 under allowRequantize, and the largest
  /// relative RMS error that rounding added to any of them.
  unsigned requantized = 0;
  double worstRequantizeError = 0.0;
};

/// Writes `module`'s single phi.model into the folder `outDir` through a
/// temporary sibling folder that replaces `outDir` only once complete.
llvm::Expected<ExportReport> exportOpenVINO(mlir::ModuleOp module,
                                            llvm::StringRef outDir,
                                            const ExportOptions &options = {});

/// The options set by phi-translate's --openvino-* flags.
ExportOptions exportOptionsFromCommandLine();

/// Registers `--phi-to-openvino` with mlir-translate's registry.
void registerPhiToOpenVINOTranslation();

} // namespace phiq::openvino

#endif // PHIQ_TARGET_OPENVINO_EXPORTOPENVINO_H
