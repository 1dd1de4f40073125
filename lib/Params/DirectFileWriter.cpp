//===- DirectFileWriter.cpp - Append large files past the page cache ------===//
#include "phiq/Params/DirectFileWriter.h"

#include "llvm/ADT/Twine.h"

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <string>
#include <system_error>

#if defined(__linux__)
#include <fcntl.h>
#endif
#include <unistd.h>

using namespace phiq::params;

namespace {
/// O_DIRECT wants buffer addresses, sizes and file offsets aligned to the
/// logical block size; 4096 covers every device in practice.
constexpr size_t kDirectAlignment = 4096;
} // namespace

void DirectFileWriter::FreeAligned::operator()(uint8_t *p) const {
  std::free(p);
}

DirectFileWriter::DirectFileWriter(int fd, llvm::StringRef path,
                                   size_t bufferBytes)
    : fd(fd), path(path.str()) {
  capacity = std::max(kDirectAlignment, bufferBytes / kDirectAlignment *
                                            kDirectAlignment);
  buffer.reset(
      static_cast<uint8_t *>(std::aligned_alloc(kDirectAlignment, capacity)));
#if defined(__linux__)
  int flags = ::fcntl(fd, F_GETFL);
  direct = flags != -1 && ::fcntl(fd, F_SETFL, flags | O_DIRECT) == 0;
#endif
}

DirectFileWriter::~DirectFileWriter() = default;

void DirectFileWriter::disableDirect() {
#if defined(__linux__)
  if (direct) {
    int flags = ::fcntl(fd, F_GETFL);
    if (flags != -1)
      ::fcntl(fd, F_SETFL, flags & ~O_DIRECT);
  }
#endif
  direct = false;
}

llvm::Error DirectFileWriter::writeBuffered(size_t size) {
  size_t done = 0;
  while (done < size) {
    ssize_t n = ::write(fd, buffer.get() + done, size - done);
    if (n >= 0) {
      done += size_t(n);
      continue;
    }
    if (errno == EINTR)
      continue;
    // A file system without O_DIRECT support may accept the flag and still
    // refuse the writes: carry on through the page cache.
    if (errno == EINVAL && direct) {
      disableDirect();
      continue;
    }
    std::error_code ec(errno, std::generic_category());
    return llvm::createStringError(ec, "cannot write " + path + ": " +
                                           ec.message());
  }
  return llvm::Error::success();
}

llvm::Error DirectFileWriter::append(const void *data, size_t size) {
  const uint8_t *bytes = static_cast<const uint8_t *>(data);
  while (size > 0) {
    size_t chunk = std::min(size, capacity - used);
    std::memcpy(buffer.get() + used, bytes, chunk);
    used += chunk;
    bytes += chunk;
    size -= chunk;
    if (used == capacity) {
      if (llvm::Error error = writeBuffered(used))
        return error;
      used = 0;
    }
  }
  return llvm::Error::success();
}

llvm::Error DirectFileWriter::appendZeros(size_t size) {
  static const uint8_t zeros[256] = {};
  while (size > 0) {
    size_t chunk = std::min(size, sizeof(zeros));
    if (llvm::Error error = append(zeros, chunk))
      return error;
    size -= chunk;
  }
  return llvm::Error::success();
}

llvm::Error DirectFileWriter::finish() {
  // The tail is not a whole number of blocks: write it the ordinary way.
  if (used % kDirectAlignment != 0)
    disableDirect();
  llvm::Error error = writeBuffered(used);
  used = 0;
  return error;
}
