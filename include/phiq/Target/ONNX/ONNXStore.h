//===- ONNXStore.h - An ONNX model's initializers as a store ----*- C++ -*-===//
//
// An ONNX file keeps big weights as external data (location, offset, length
// into `model.onnx.data`) and small ones inside the protobuf. ONNXModelFile
// parses the protobuf once, maps each external data file and checks every
// initializer's byte range against it; the store built on it answers
// lookups with pointers into those mappings (nothing is copied), and is
// registered with lib/Params' store registry for `.onnx` paths, so phi-run
// and the emitters reopen an imported model's weights by path.
//
//===----------------------------------------------------------------------===//
#ifndef PHIQ_TARGET_ONNX_ONNXSTORE_H
#define PHIQ_TARGET_ONNX_ONNXSTORE_H

#include "phiq/Params/ParamStore.h"

#include "llvm/ADT/StringMap.h"
#include "llvm/Support/MemoryBuffer.h"

#include <memory>

namespace onnx {
class ModelProto;
} // namespace onnx

namespace phiq::onnx {

/// A parsed model.onnx with its external data mapped.
class ONNXModelFile {
public:
  /// Parses `path` and maps the external data it names. Errors name the
  /// file, the initializer and the byte range that is wrong.
  static llvm::Expected<std::unique_ptr<ONNXModelFile>>
  open(llvm::StringRef path);
  ~ONNXModelFile();

  const ::onnx::ModelProto &getModel() const { return *model; }
  llvm::StringRef getPath() const { return path; }
  /// The initializer `name` (its bytes in place), or nullptr.
  const params::TensorRef *lookupTensor(llvm::StringRef name) const;
  const std::vector<params::TensorRef> &getTensors() const { return tensors; }
  const std::vector<params::ParamFile> &getFiles() const { return files; }

private:
  ONNXModelFile() = default;
  std::string path;
  std::unique_ptr<::onnx::ModelProto> model;
  std::vector<std::unique_ptr<llvm::MemoryBuffer>> buffers;
  std::vector<params::ParamFile> files;
  std::vector<params::TensorRef> tensors;
  llvm::StringMap<size_t> byName;
};

/// The ONNX data type `type` as a store dtype; nullopt for the types PhiQ
/// does not read (strings, complex, 4-bit and 8-bit floats).
std::optional<params::DType> dtypeOfONNXType(int32_t type);

/// `name + kTransposedSuffix` names the transpose of 2-D float initializer
/// `name`. torch.onnx.export constant-folds a Linear's W^T into an [in, out]
/// initializer; phi.linear reads [out, in], so the store makes that one
/// copy (once, when first looked up). Every other tensor is mapped.
inline constexpr llvm::StringLiteral kTransposedSuffix = "^T";

/// Opens `path` (a model.onnx) as a parameter store.
llvm::Expected<std::unique_ptr<params::ParamStore>>
openONNXStore(llvm::StringRef path);

/// Registers the format with lib/Params (for `.onnx` paths); idempotent.
void registerONNXStore();

} // namespace phiq::onnx

#endif // PHIQ_TARGET_ONNX_ONNXSTORE_H
