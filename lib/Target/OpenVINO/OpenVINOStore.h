//===- OpenVINOStore.h - An OpenVINO IR folder as a parameter store -*- C++ -*-//
//
// The IR PhiQ writes (and NNCF's compress_weights rewrites) names every
// weight Const after its checkpoint tensor: a float weight is the Const
// NAME (f32) or NAME_compressed (f16, decompressed by a Convert); a low-bit
// weight is the codes Const NAME (u4 / i4 / u8 [out, groups, group], or u8
// [out, in] per channel) with NAME/scale and, unless symmetric, NAME/zero_point.
// A tied model whose head is quantized apart from its embedding holds the
// table twice; the second copy (model.embed_tokens.weight_1) is shown as
// lm_head.weight.
// The store shows the folder the way the Hugging Face importer reads a
// checkpoint: float tensors are views into the mapped .bin; each low-bit
// matrix is one U8 tensor of PhiQ's NNCF / MatMulNBits blocks ({scale;
// zero point; codes}), assembled once when the store opens.
//
//===----------------------------------------------------------------------===//
#ifndef PHIQ_LIB_TARGET_OPENVINO_OPENVINOSTORE_H
#define PHIQ_LIB_TARGET_OPENVINO_OPENVINOSTORE_H

#include "phiq/Params/ParamStore.h"
#include "phiq/Quant/BlockFormat.h"

#include "llvm/ADT/StringMap.h"
#include "llvm/Support/Error.h"

#include <memory>

namespace phiq::openvino {

/// A folder's IR as checkpoint-named tensors, and the block format of each
/// low-bit one.
struct OpenVINOCheckpoint {
  std::unique_ptr<params::ParamStore> store;
  llvm::StringMap<quant::BlockFormat> formats;
};

/// Reads `dir`/openvino_model.xml and .bin. Errors name the file and layer.
llvm::Expected<OpenVINOCheckpoint> openOpenVINOCheckpoint(llvm::StringRef dir);

/// The store alone (for the parameter-store registry).
llvm::Expected<std::unique_ptr<params::ParamStore>>
openOpenVINOStore(llvm::StringRef dir);

} // namespace phiq::openvino

#endif // PHIQ_LIB_TARGET_OPENVINO_OPENVINOSTORE_H
