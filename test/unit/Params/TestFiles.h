//===- TestFiles.h - Temporary files for Params tests -----------*- C++ -*-===//
//
// The Params tests build their (mostly broken) safetensors files and index
// files on disk, because the code under test maps files by path. This header
// holds the helpers they share: a self-deleting temporary folder, raw file
// writing and the 8-byte length prefix.
//
//===----------------------------------------------------------------------===//
#ifndef PHIQ_TEST_UNIT_PARAMS_TESTFILES_H
#define PHIQ_TEST_UNIT_PARAMS_TESTFILES_H

#include "phiq/Params/ParamStore.h"

#include "llvm/ADT/SmallString.h"
#include "llvm/Support/Endian.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/raw_ostream.h"

#include "gtest/gtest.h"

#include <initializer_list>
#include <string>

namespace phiq::params::test {

/// A fresh folder under the system temp dir, removed with its contents.
class TempDir {
public:
  TempDir() {
    std::error_code ec =
        llvm::sys::fs::createUniqueDirectory("phiq-params-test", root);
    EXPECT_FALSE(ec) << ec.message();
  }
  ~TempDir() { llvm::sys::fs::remove_directories(root); }

  std::string path() const { return std::string(root); }
  std::string file(llvm::StringRef name) const {
    llvm::SmallString<256> result(root);
    llvm::sys::path::append(result, name);
    return std::string(result);
  }

private:
  llvm::SmallString<256> root;
};

inline void writeFile(const std::string &path, llvm::StringRef bytes) {
  std::error_code ec;
  llvm::raw_fd_ostream out(path, ec);
  ASSERT_FALSE(ec) << path << ": " << ec.message();
  out << bytes;
}

/// A safetensors file: length prefix, `header` verbatim, then `data`.
inline std::string safetensorsBytes(llvm::StringRef header,
                                    llvm::StringRef data) {
  std::string bytes(8, '\0');
  llvm::support::endian::write64le(bytes.data(), header.size());
  bytes += header;
  bytes += data;
  return bytes;
}

/// Same with `dataSize` zero bytes of data.
inline std::string safetensorsBytes(llvm::StringRef header, size_t dataSize) {
  return safetensorsBytes(header, std::string(dataSize, '\0'));
}

/// The message of the error opening `path` gives, or "" if it opens.
inline std::string openError(llvm::StringRef path) {
  auto store = openSafetensors(path);
  if (store)
    return "";
  return llvm::toString(store.takeError());
}

/// Expects opening `path` to fail with a message holding every fragment.
inline void expectOpenError(llvm::StringRef path,
                            std::initializer_list<const char *> fragments) {
  std::string message = openError(path);
  ASSERT_FALSE(message.empty()) << path.str() << " opened without error";
  for (const char *fragment : fragments)
    EXPECT_NE(message.find(fragment), std::string::npos)
        << "missing \"" << fragment << "\" in: " << message;
}

} // namespace phiq::params::test

#endif // PHIQ_TEST_UNIT_PARAMS_TESTFILES_H
