//===- DirectFileWriter.h - Append large files past the page cache -*- C++ -*-===//
//
// Writers of multi-gigabyte weight files (GGUF, ONNX external data) append
// each tensor once and never read it back. Through the page cache every
// byte is copied into kernel pages first, which on the machines measured
// here costs more CPU than quantizing it. This writer stages bytes in an
// aligned buffer and writes whole blocks with O_DIRECT where the file
// system allows it (Linux), falling back to ordinary writes where it does
// not (tmpfs, other systems) and for the unaligned tail.
//
//===----------------------------------------------------------------------===//
#ifndef PHIQ_PARAMS_DIRECTFILEWRITER_H
#define PHIQ_PARAMS_DIRECTFILEWRITER_H

#include "llvm/Support/Error.h"

#include <cstddef>
#include <cstdint>
#include <memory>

namespace phiq::params {

class DirectFileWriter {
public:
  /// Appends to the open file `fd` (positioned at a multiple of the block
  /// size, normally 0), which stays owned by the caller. `path` names the
  /// file in errors.
  DirectFileWriter(int fd, llvm::StringRef path,
                   size_t bufferBytes = size_t(8) << 20);
  ~DirectFileWriter();
  DirectFileWriter(const DirectFileWriter &) = delete;
  DirectFileWriter &operator=(const DirectFileWriter &) = delete;

  llvm::Error append(const void *data, size_t size);
  llvm::Error appendZeros(size_t size);
  /// Writes what is still buffered. Call once, after the last append.
  llvm::Error finish();

  /// Whether writes currently bypass the page cache.
  bool isDirect() const { return direct; }

private:
  llvm::Error writeBuffered(size_t size);
  void disableDirect();

  int fd;
  std::string path;
  bool direct = false;
  struct FreeAligned {
    void operator()(uint8_t *p) const;
  };
  std::unique_ptr<uint8_t, FreeAligned> buffer;
  size_t capacity;
  size_t used = 0;
};

} // namespace phiq::params

#endif // PHIQ_PARAMS_DIRECTFILEWRITER_H
