//===- Recipe.h - llama.cpp's quantization mixtures -------------*- C++ -*-===//
//
// Which block format each tensor gets for a llama.cpp file type (Q4_K_M,
// Q3_K_S, ...): the per-tensor rules of llama-quantize (more bits for the
// value projection and for some ffn_down layers, Q6_K for the output, ...),
// the user's per-tensor overrides, and the fallback for row lengths a
// format cannot take. No MLIR: the pass describes each tensor with a
// TensorRole and asks.
//
//===----------------------------------------------------------------------===//
#ifndef PHIQ_QUANT_RECIPE_H
#define PHIQ_QUANT_RECIPE_H

#include "phiq/Quant/BlockFormat.h"

#include "llvm/ADT/ArrayRef.h"
#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Regex.h"
#include "llvm/Support/Error.h"

#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace phiq::quant {

/// What a weight is, in the terms llama-quantize decides by.
enum class TensorCategory {
  TokenEmbedding,
  Output,
  AttentionQ,
  AttentionK,
  AttentionV,
  AttentionQKV,
  AttentionOutput,
  FfnUp,
  FfnGate,
  FfnDown,
  /// Quantizable but with no special rule.
  Other,
  /// Kept as it is: norms, biases, MoE routers.
  Keep,
};

struct TensorRole {
  /// The GGUF tensor name (e.g. "blk.3.attn_qkv.weight"); overrides match it
  /// and the checkpoint name.
  std::string ggufName, checkpointName;
  TensorCategory category = TensorCategory::Other;
  /// Transformer block index, or -1.
  int layer = -1;
  /// Elements per row (the dimension blocks run along).
  int64_t rowLength = 0;
};

/// A llama.cpp file type (LLAMA_FTYPE_MOSTLY_*).
enum class FileType {
  F32, F16, BF16, Q8_0, Q4_0, Q4_1, Q5_0, Q5_1,
  Q2_K, Q3_K_S, Q3_K_M, Q3_K_L, Q4_K_S, Q4_K_M, Q5_K_S, Q5_K_M, Q6_K,
  IQ4_NL,
};
std::optional<FileType> parseFileType(llvm::StringRef name);
llvm::StringRef fileTypeName(FileType type);
/// The base format of a file type (Q4_K for Q4_K_M, ...).
BlockFormat baseFormat(FileType type);

struct ModelShape {
  int numLayers = 0;
  /// num_heads / num_kv_heads.
  int gqa = 1;
  int numExperts = 0;
  bool tiedEmbeddings = false;
};

/// One user override: tensors whose name matches `pattern` get `format`.
struct Override {
  std::string pattern;
  BlockFormat format;
};
/// Parses "REGEX=FORMAT" (llama-quantize's --tensor-type syntax); the
/// pattern is a POSIX extended regex searched anywhere in the name.
llvm::Expected<Override> parseOverride(llvm::StringRef text);

struct Decision {
  BlockFormat format;
  /// Set when the chosen format could not take the row length.
  std::optional<BlockFormat> fellBackFrom;
};

/// Decides formats tensor by tensor, in model order (the rules count
/// attn_v / ffn_down tensors as they go, as llama-quantize does).
class RecipeState {
public:
  RecipeState(FileType type, bool pure, ModelShape shape,
              std::vector<Override> overrides);
  /// std::nullopt: keep the tensor as it is.
  std::optional<Decision> decide(const TensorRole &role);
  /// The patterns of overrides that no decided tensor matched (a typo or a
  /// tensor the model does not have): callers report them as errors.
  std::vector<std::string> unmatchedOverrides() const;

private:
  BlockFormat mixture(const TensorRole &role, BlockFormat base);
  FileType type;
  bool pure;
  ModelShape shape;
  struct CompiledOverride {
    std::string pattern;
    std::unique_ptr<llvm::Regex> regex;
    BlockFormat format;
    bool matched = false;
  };
  std::vector<CompiledOverride> overrides;
  /// The override for `role`, if any (and marks it matched).
  std::optional<BlockFormat> overrideFor(const TensorRole &role);
  int attentionV = 0;
};

/// The format llama.cpp falls back to when `format` cannot take rows of
/// `rowLength` (F16 when nothing else fits).
BlockFormat fallbackFormat(BlockFormat format, int64_t rowLength);

} // namespace phiq::quant

#endif // PHIQ_QUANT_RECIPE_H
