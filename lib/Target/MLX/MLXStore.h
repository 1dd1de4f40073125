//===- MLXStore.h - An mlx-lm folder as a parameter store -------*- C++ -*-===//
//
// An mlx-lm folder holds the checkpoint's tensors under mlx-lm's names:
// PhiMoE's experts stacked ([experts, out, in] switch_mlp tensors), and
// every quantized module as uint32 `weight` + `scales` + `biases`. The store
// shows the folder the way the Hugging Face importer reads a checkpoint:
// float tensors under their checkpoint names (expert slices of a stacked
// tensor are views into the mapped file), and each quantized matrix as one
// U8 tensor of PhiQ's MLX blocks ({scale; bias; codes}), which interleave
// MLX's three tensors and so are assembled once, when the store opens.
//
//===----------------------------------------------------------------------===//
#ifndef PHIQ_LIB_TARGET_MLX_MLXSTORE_H
#define PHIQ_LIB_TARGET_MLX_MLXSTORE_H

#include "phiq/Params/ParamStore.h"
#include "phiq/Quant/BlockFormat.h"

#include "llvm/ADT/SmallVector.h"
#include "llvm/Support/Error.h"

#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace phiq::mlx {

/// One checkpoint tensor as the folder holds it.
struct MLXTensorPlan {
  /// The checkpoint (Hugging Face) name the importer asks for.
  std::string name;
  /// The folder's tensor: the float tensor, or the module's `weight`.
  std::string source;
  /// The slice of a stacked switch_mlp tensor, or -1.
  int expert = -1;
  /// Set for a quantized module; its `scales` and `biases` tensors.
  std::optional<quant::BlockFormat> format;
  std::string scales, biases;
  /// The logical shape (of one expert's slice).
  llvm::SmallVector<int64_t, 4> shape;
};

/// Reads config.json's quantization entry and the tensors of `raw` (the
/// folder's safetensors) and checks that they agree: every quantized
/// module has uint32 codes and scales and biases of one float type whose
/// shapes match the bits and group size config.json gives it.
llvm::Expected<std::vector<MLXTensorPlan>>
planMLXFolder(llvm::StringRef dir, const params::ParamStore &raw);

/// Opens the folder as a store of checkpoint-named tensors.
llvm::Expected<std::unique_ptr<params::ParamStore>>
openMLXStore(llvm::StringRef dir);

} // namespace phiq::mlx

#endif // PHIQ_LIB_TARGET_MLX_MLXSTORE_H
