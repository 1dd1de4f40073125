//===- GGUFStore.h - A GGUF file as a parameter store -----------*- C++ -*-===//
//
// Lets `#phi.param<"gguf"::"blk.0.attn_qkv.weight">` resolve into a mapped
// GGUF file, the way safetensors parameters do. Tensors keep their GGUF
// names. Element-typed tensors (F32, F16, BF16, F64, I8..I64) are exposed
// with their dtype and their shape in PyTorch order (ggml's dims reversed);
// block-quantized tensors (Q4_K, Q8_0, ...) are exposed as their raw bytes,
// a 1-D U8 tensor, whose format the importer records in the IR.
//
//===----------------------------------------------------------------------===//
#ifndef PHIQ_TARGET_GGUF_GGUFSTORE_H
#define PHIQ_TARGET_GGUF_GGUFSTORE_H

#include "phiq/Params/ParamStore.h"
#include "phiq/Target/GGUF/GGUFTypes.h"

#include "llvm/ADT/SmallVector.h"

#include <optional>

namespace phiq::gguf {

/// The dtype a tensor of `type` is exposed with, or nullopt when it is
/// exposed as raw bytes (the block formats).
std::optional<params::DType> getElementDType(GGMLType type);

/// The shape a GGUF store gives a tensor of `type` and ggml `dims`:
/// reversed dims for element types, [byteSize] for block formats.
llvm::SmallVector<int64_t, 4>
getStoreShape(GGMLType type, llvm::ArrayRef<uint64_t> dims, uint64_t byteSize);

/// Maps and validates the GGUF file at `path` as a store.
llvm::Expected<std::unique_ptr<params::ParamStore>>
openGGUFStore(llvm::StringRef path);

/// Registers openGGUFStore with the store registry (files starting with
/// "GGUF" or named *.gguf). Idempotent.
void registerGGUFStore();

} // namespace phiq::gguf

#endif // PHIQ_TARGET_GGUF_GGUFSTORE_H
