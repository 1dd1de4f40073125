//===- ExternalData.h - ONNX external weight file writer ---------*- C++ -*-===//
//
// Appends tensors to `model.onnx.data` one at a time and points their
// TensorProto at the bytes (ONNX's external data: location, offset,
// length). Weights never sit in the protobuf, so the 2 GB protobuf limit
// bounds only the graph, and only one tensor is ever in memory.
//
//===----------------------------------------------------------------------===//
#ifndef PHIQ_LIB_TARGET_ONNX_EXTERNALDATA_H
#define PHIQ_LIB_TARGET_ONNX_EXTERNALDATA_H

#include "llvm/ADT/ArrayRef.h"
#include "llvm/Support/Error.h"
#include "llvm/Support/raw_ostream.h"

#include <memory>
#include <string>

namespace onnx {
class TensorProto;
} // namespace onnx

namespace phiq::onnx {

class ExternalDataWriter {
public:
  /// Opens `path` for writing; tensors will name it `location` (relative to
  /// model.onnx, as ONNX requires).
  static llvm::Expected<std::unique_ptr<ExternalDataWriter>>
  create(llvm::StringRef path, llvm::StringRef location);

  /// Writes `bytes` (the tensor's raw little-endian data) and records where
  /// in `tensor`. Large tensors start on a 4096-byte boundary so that ONNX
  /// Runtime can map them in place.
  llvm::Error append(::onnx::TensorProto &tensor,
                     llvm::ArrayRef<uint8_t> bytes);

  /// Flushes and closes the file; reports any write error.
  llvm::Error close();

  uint64_t size() const { return offset; }

private:
  ExternalDataWriter(std::unique_ptr<llvm::raw_fd_ostream> os,
                     std::string path, std::string location)
      : os(std::move(os)), path(std::move(path)),
        location(std::move(location)) {}

  std::unique_ptr<llvm::raw_fd_ostream> os;
  std::string path, location;
  uint64_t offset = 0;
};

} // namespace phiq::onnx

#endif // PHIQ_LIB_TARGET_ONNX_EXTERNALDATA_H
