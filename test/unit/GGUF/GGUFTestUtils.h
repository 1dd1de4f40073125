//===- GGUFTestUtils.h - Shared helpers of the GGUF tests -------*- C++ -*-===//
//
// The reader's error tests need files the writer refuses to produce, so they
// assemble GGUF bytes field by field with ByteBuilder (little-endian fields,
// nothing else). The writer tests need a scratch folder they can list to
// prove no temporary file is left behind: TempDir.
//
//===----------------------------------------------------------------------===//
#ifndef PHIQ_TEST_UNIT_GGUF_GGUFTESTUTILS_H
#define PHIQ_TEST_UNIT_GGUF_GGUFTESTUTILS_H

#include "phiq/Target/GGUF/GGUFReader.h"

#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/SmallString.h"
#include "llvm/Support/Endian.h"
#include "llvm/Support/ErrorHandling.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"

#include "gtest/gtest.h"

#include <string>
#include <vector>

namespace phiq::gguf::test {

class ByteBuilder {
public:
  ByteBuilder &u8(uint8_t v) {
    bytes.push_back(static_cast<char>(v));
    return *this;
  }
  ByteBuilder &u32(uint32_t v) {
    char buf[4];
    llvm::support::endian::write32le(buf, v);
    bytes.append(buf, 4);
    return *this;
  }
  ByteBuilder &u64(uint64_t v) {
    char buf[8];
    llvm::support::endian::write64le(buf, v);
    bytes.append(buf, 8);
    return *this;
  }
  ByteBuilder &raw(llvm::StringRef text) {
    bytes.append(text.data(), text.size());
    return *this;
  }
  /// A GGUF string: u64 length, then the bytes.
  ByteBuilder &str(llvm::StringRef text) { return u64(text.size()).raw(text); }
  /// Magic, version, counts.
  ByteBuilder &header(uint64_t tensors, uint64_t kvs, uint32_t version = 3) {
    return raw("GGUF").u32(version).u64(tensors).u64(kvs);
  }
  /// A u32 KV pair.
  ByteBuilder &kvU32(llvm::StringRef key, uint32_t v) {
    return str(key).u32(4).u32(v);
  }
  /// A tensor info.
  ByteBuilder &tensor(llvm::StringRef name,
                      std::initializer_list<uint64_t> dims, uint32_t type,
                      uint64_t offset) {
    str(name).u32(dims.size());
    for (uint64_t d : dims)
      u64(d);
    return u32(type).u64(offset);
  }
  /// Zeros up to a multiple of `alignment`.
  ByteBuilder &pad(size_t alignment) {
    while (bytes.size() % alignment)
      bytes.push_back(0);
    return *this;
  }
  ByteBuilder &zeros(size_t count) {
    bytes.append(count, '\0');
    return *this;
  }
  size_t size() const { return bytes.size(); }
  std::string bytes;
};

/// Parses `bytes` as the file "bad.gguf".
inline llvm::Expected<std::unique_ptr<GGUFFile>>
parseBytes(const std::string &bytes) {
  return GGUFFile::parse(
      llvm::MemoryBuffer::getMemBufferCopy(bytes, "bad.gguf"), "bad.gguf");
}

/// The error text of parsing `bytes`, or "<parsed>" when it succeeded.
inline std::string parseError(const std::string &bytes) {
  llvm::Expected<std::unique_ptr<GGUFFile>> file = parseBytes(bytes);
  if (file)
    return "<parsed>";
  return llvm::toString(file.takeError());
}

/// Passes when `text` contains `part`; the failure shows both.
inline ::testing::AssertionResult contains(llvm::StringRef text,
                                           llvm::StringRef part) {
  if (text.contains(part))
    return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure()
         << "\"" << text.str() << "\" does not contain \"" << part.str()
         << "\"";
}

/// A fresh folder, removed with its contents on destruction.
class TempDir {
public:
  TempDir() {
    std::error_code ec =
        llvm::sys::fs::createUniqueDirectory("phiq-gguf-test", dir);
    if (ec)
      llvm::report_fatal_error("cannot create a temporary folder");
  }
  ~TempDir() { llvm::sys::fs::remove_directories(dir); }

  std::string path(llvm::StringRef name) const {
    llvm::SmallString<128> result(dir);
    llvm::sys::path::append(result, name);
    return std::string(result);
  }

  /// Names of the entries in the folder, sorted.
  std::vector<std::string> list() const {
    std::vector<std::string> names;
    std::error_code ec;
    for (llvm::sys::fs::directory_iterator it(dir, ec), end; !ec && it != end;
         it.increment(ec))
      names.push_back(llvm::sys::path::filename(it->path()).str());
    llvm::sort(names);
    return names;
  }

private:
  llvm::SmallString<128> dir;
};

/// The contents of the file at `path`, or "<missing>".
inline std::string readFile(llvm::StringRef path) {
  llvm::ErrorOr<std::unique_ptr<llvm::MemoryBuffer>> buffer =
      llvm::MemoryBuffer::getFile(path, /*IsText=*/false,
                                  /*RequiresNullTerminator=*/false);
  if (!buffer)
    return "<missing>";
  return (*buffer)->getBuffer().str();
}

} // namespace phiq::gguf::test

#endif // PHIQ_TEST_UNIT_GGUF_GGUFTESTUTILS_H
