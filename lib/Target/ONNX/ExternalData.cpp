//===- ExternalData.cpp - ONNX external weight file writer -------*- C++ -*-===//
//
// See ExternalData.h. The layout follows onnx.external_data_helper: each
// tensor's TensorProto keeps its name, type and dims, sets data_location to
// EXTERNAL and lists `location`, `offset` and `length`.
//
//===----------------------------------------------------------------------===//
#include "ExternalData.h"

// Generated from libonnx-dev's onnx.proto (see CMakeLists.txt).
#include "onnx/onnx.pb.h"

#include "llvm/Support/FileSystem.h"

using namespace phiq::onnx;
using llvm::Error;

llvm::Expected<std::unique_ptr<ExternalDataWriter>>
ExternalDataWriter::create(llvm::StringRef path, llvm::StringRef location) {
  std::error_code ec;
  auto os = std::make_unique<llvm::raw_fd_ostream>(path, ec,
                                                   llvm::sys::fs::OF_None);
  if (ec)
    return llvm::createStringError(ec, "cannot create " + path + ": " +
                                           ec.message());
  return std::unique_ptr<ExternalDataWriter>(
      new ExternalDataWriter(std::move(os), path.str(), location.str()));
}

Error ExternalDataWriter::append(::onnx::TensorProto &tensor,
                                 llvm::ArrayRef<uint8_t> bytes) {
  // Small tensors only need element alignment; big ones get a page so a
  // memory-mapping loader can use them without copying.
  const uint64_t alignment = bytes.size() >= (1u << 20) ? 4096 : 64;
  uint64_t padding = (alignment - offset % alignment) % alignment;
  for (uint64_t i = 0; i < padding; ++i)
    os->write('\0');
  offset += padding;
  os->write(reinterpret_cast<const char *>(bytes.data()), bytes.size());
  if (os->has_error())
    return llvm::createStringError(os->error(), "cannot write " + path + ": " +
                                                    os->error().message());
  tensor.set_data_location(::onnx::TensorProto_DataLocation_EXTERNAL);
  auto add = [&](const char *key, const std::string &value) {
    auto *entry = tensor.add_external_data();
    entry->set_key(key);
    entry->set_value(value);
  };
  add("location", location);
  add("offset", std::to_string(offset));
  add("length", std::to_string(bytes.size()));
  offset += bytes.size();
  return Error::success();
}

Error ExternalDataWriter::close() {
  os->close();
  if (os->has_error()) {
    std::error_code ec = os->error();
    os->clear_error();
    return llvm::createStringError(ec, "cannot write " + path + ": " +
                                           ec.message());
  }
  return Error::success();
}
