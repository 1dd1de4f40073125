//===- TestUtil.h - Helpers for the tokenizer tests -------------*- C++ -*-===//
//
// The tokenizer tests read the embedded models' reference JSON and build
// scratch model folders (copies of a real folder with one file changed) to
// reach error paths; these helpers keep that plumbing out of the tests.
//
//===----------------------------------------------------------------------===//
#ifndef PHIQ_TEST_UNIT_TOKENIZER_TESTUTIL_H
#define PHIQ_TEST_UNIT_TOKENIZER_TESTUTIL_H

#include "phiq/Tokenizer/Tokenizer.h"

#include "llvm/ADT/SmallString.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/raw_ostream.h"

#include "gtest/gtest.h"

#include <functional>
#include <string>

namespace phiq::tok::test {

inline std::string modelDir(llvm::StringRef name) {
  llvm::SmallString<256> path(PHIQ_MODELS_DIR);
  llvm::sys::path::append(path, name);
  return std::string(path);
}

inline std::string readFile(llvm::StringRef path) {
  auto buffer = llvm::MemoryBuffer::getFile(path, /*IsText=*/false);
  if (!buffer) {
    ADD_FAILURE() << "cannot read " << path.str();
    return "";
  }
  return (*buffer)->getBuffer().str();
}

inline llvm::json::Value readJson(llvm::StringRef path) {
  llvm::Expected<llvm::json::Value> v = llvm::json::parse(readFile(path));
  if (!v) {
    ADD_FAILURE() << path.str() << ": " << llvm::toString(v.takeError());
    return nullptr;
  }
  return std::move(*v);
}

inline void writeFile(llvm::StringRef path, llvm::StringRef contents) {
  std::error_code ec;
  llvm::raw_fd_ostream os(path, ec);
  ASSERT_FALSE(ec) << path.str() << ": " << ec.message();
  os << contents;
}

inline std::string toJsonText(const llvm::json::Value &v) {
  std::string text;
  llvm::raw_string_ostream os(text);
  os << v;
  return text;
}

/// A fresh directory, removed with its files when the object dies.
class ScratchDir {
public:
  ScratchDir() {
    llvm::SmallString<256> dir;
    std::error_code ec =
        llvm::sys::fs::createUniqueDirectory("phiq-tokenizer-test", dir);
    EXPECT_FALSE(ec) << ec.message();
    path = std::string(dir);
  }
  ~ScratchDir() { llvm::sys::fs::remove_directories(path); }
  std::string file(llvm::StringRef name) const {
    llvm::SmallString<256> p(path);
    llvm::sys::path::append(p, name);
    return std::string(p);
  }
  /// Copies `names` from the embedded model folder `model`.
  void copyFrom(llvm::StringRef model,
                std::initializer_list<llvm::StringRef> names) const {
    for (llvm::StringRef name : names) {
      llvm::SmallString<256> from(modelDir(model));
      llvm::sys::path::append(from, name);
      std::error_code ec = llvm::sys::fs::copy_file(from, file(name));
      EXPECT_FALSE(ec) << name.str() << ": " << ec.message();
    }
  }
  /// Writes `name` as the model's JSON file `name` after `edit` changed it.
  void copyEdited(llvm::StringRef model, llvm::StringRef name,
                  const std::function<void(llvm::json::Object &)> &edit) const {
    llvm::SmallString<256> from(modelDir(model));
    llvm::sys::path::append(from, name);
    llvm::json::Value v = readJson(from);
    edit(*v.getAsObject());
    writeFile(file(name), toJsonText(v));
  }

  std::string path;
};

/// The message of a failed load, or "" (with a test failure) if it loaded.
inline std::string loadError(llvm::StringRef dir) {
  auto tok = Tokenizer::load(dir);
  if (tok) {
    ADD_FAILURE() << "expected loading " << dir.str() << " to fail";
    return "";
  }
  return llvm::toString(tok.takeError());
}

inline std::vector<int32_t> idsOf(const llvm::json::Value *v) {
  std::vector<int32_t> ids;
  if (const llvm::json::Array *a = v ? v->getAsArray() : nullptr)
    for (const llvm::json::Value &e : *a)
      ids.push_back(static_cast<int32_t>(e.getAsInteger().value_or(-1)));
  return ids;
}

} // namespace phiq::tok::test

#endif // PHIQ_TEST_UNIT_TOKENIZER_TESTUTIL_H
